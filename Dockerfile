# ortserve: a TorchServe-compatible model server for ONNX models.
# Build: docker build -t ortserve .   Run: docker run -p 127.0.0.1:8080:8080 -v $PWD/model-store:/home/model-server/model-store ortserve
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
# The install runs no build (no sources yet); `npm run build` below compiles.
RUN npm ci --ignore-scripts
COPY src ./src
COPY tools ./tools
COPY test ./test
COPY handlers ./handlers
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
RUN useradd --create-home --uid 1000 model-server
WORKDIR /home/model-server
COPY --from=build --chown=model-server /app/node_modules ./app/node_modules
COPY --from=build --chown=model-server /app/dist ./app/dist
COPY --chown=model-server package.json ./app/package.json
COPY --chown=model-server docker/config.properties ./config.properties
RUN mkdir -p model-store logs && chown -R model-server model-store logs
USER model-server
VOLUME ["/home/model-server/model-store"]
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/ping').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/home/model-server/app/dist/src/cli/ortserve.js"]
CMD ["--start", "--foreground", "--ts-config", "/home/model-server/config.properties", "--model-store", "/home/model-server/model-store", "--models", "all"]
