# syntax=docker/dockerfile:1
# ortserve: a TorchServe-compatible model server for ONNX models.
#   docker build -t ortserve .
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/model-store:/home/model-server/model-store:ro" ortserve
# Flags after the image name are torchserve's (README "Deploy"); docker/entrypoint.mjs adds --start
# --foreground and the container config.properties. Checked by test/deploy/dockerfile.test.ts (lint) and
# test/deploy/entrypoint.test.ts (the entrypoint, outside Docker).

# --- build: the full toolchain, compiles TypeScript -------------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
# No scripts: `prepare` would build before the sources are here; onnxruntime-node's CPU binary is in its package.
RUN npm ci --ignore-scripts
COPY src ./src
COPY tools ./tools
COPY test ./test
COPY handlers ./handlers
COPY bench ./bench
RUN npm run build

# --- runtime: production dependencies only, installed fresh (not pruned), as a non-root user -------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LOG_LOCATION=/home/model-server/logs \
    ORTSERVE_CONFIG=/home/model-server/config.properties
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin model-server
WORKDIR /home/model-server/app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` (tsc) is a build step, done above; .npmrc skips ONNX Runtime's CUDA download.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY docker/entrypoint.mjs docker/healthcheck.mjs ./docker/
COPY docker/config.properties /home/model-server/config.properties
WORKDIR /home/model-server
RUN mkdir -p model-store logs && chown model-server:model-server model-store logs /home/model-server
USER model-server
# The model store (read-only is enough) and the logs, snapshots and key_file.json (the working directory).
VOLUME ["/home/model-server/model-store"]
EXPOSE 8080 8081 8082 7070 7071
# /ping with the inference key from key_file.json when token authorization is on (docker/healthcheck.mjs).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/home/model-server/app/docker/healthcheck.mjs"]
# node is PID 1 and handles SIGTERM itself: ortserve drains in-flight requests, then exits 0. Give
# `docker stop -t` (Kubernetes: terminationGracePeriodSeconds) more than your longest request.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/home/model-server/app/docker/entrypoint.mjs"]
CMD ["serve"]
