# syntax=docker/dockerfile:1
# ortserve: a TorchServe-compatible model server for ONNX models.
#   docker build -t ortserve .
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/model-store:/home/model-server/model-store:ro" ortserve
# Flags after the image name are torchserve's (README "Deploy"); docker/entrypoint.mjs adds --start
# --foreground and the container config.properties. Checked by test/deploy/dockerfile.test.ts (lint) and
# test/deploy/entrypoint.test.ts (the entrypoint, outside Docker); built and run by `npm run test:container`
# (tools/container/test-image.ts, podman).

# --- build: the full toolchain, compiles TypeScript -------------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# No scripts: `prepare` would build before the sources are here, and onnxruntime-node's postinstall only
# downloads the CUDA providers (its CPU binary is in its package).
RUN npm ci --ignore-scripts
# Only src/: the image runs dist/src (tests, tools and benchmarks are compiled and run outside it).
COPY src ./src
RUN npm run build

# --- deps: production dependencies only, installed fresh (not pruned), without other platforms' binaries -
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY docker/slim-node-modules.sh ./
# --ignore-scripts: `prepare` (tsc) is a build step, done above; no CUDA download (onnxruntime-node).
RUN npm ci --omit=dev --ignore-scripts && sh slim-node-modules.sh node_modules

# --- runtime: node, node_modules, dist; as the base image's non-root user `node` (uid 1000) ---------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LOG_LOCATION=/home/model-server/logs \
    ORTSERVE_CONFIG=/home/model-server/config.properties
WORKDIR /home/model-server/app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY proto ./proto
COPY docker/entrypoint.mjs docker/healthcheck.mjs ./docker/
COPY docker/config.properties /home/model-server/config.properties
WORKDIR /home/model-server
# The official node images already have user `node` with uid 1000 (TorchServe's model-server uid, and
# deploy/kubernetes' runAsUser): the server runs as that user.
RUN mkdir -p model-store logs && chown node:node model-store logs /home/model-server
USER node
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
