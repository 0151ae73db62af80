# The service's container image. Three stages: build (all dependencies, TypeScript compiled),
# production dependencies only, and the runtime: distroless Node.js 24 LTS, non-root, nothing
# written to the root filesystem, no shell, no npm, no secret and no .env inside.
#
#   docker build -t acs-token-service .
#   docker run --read-only -p 3000:3000 -e DATABASE_URL=... -e ACS_CONNECTION_STRING=... \
#     -e AZURE_TENANT_ID=... -e AZURE_CLIENT_ID=... -e AUDIT_HASH_KEY=... -e METRICS_TOKEN=... acs-token-service
#   migrations, once per release: the same image with the command dist/src/db/migrateCli.js
#
# Base images are build arguments: the defaults are the real images (pin them by digest where
# a registry is reachable: docs/operations.md, "Container image and Kubernetes"); test/container.test.ts
# builds with stand-ins made by scripts/dockerEngine.sh, with this same file.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY src ./src
COPY emulators ./emulators
COPY demo ./demo
COPY scripts/buildDemo.ts scripts/buildContract.ts scripts/bundleServer.ts ./scripts/
# The server is bundled (dist/src/server.js and dist/src/chunks/, scripts/bundleServer.ts); the
# rest of dist/ is tsc's output, which the migration command runs from. Local mode (src/local/)
# and the emulators it starts never run here (NODE_ENV=production), and their dependencies are
# development ones: tsc's output of them stays out of the image (the bundle's chunks of local
# mode could not load without those dependencies, and are never imported).
RUN npm run build && rm -r dist/src/local dist/emulators

FROM ${BUILD_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# V8's heap, set rather than derived from the memory the process sees (the host's, or the
# container's limit): a young generation of 2 × 8 MB, so the memory it takes is the same in every
# pod, and an old generation of at most 256 MB, well inside the Deployment's memory limit.
# The bench starts the service with these (bench/stack.ts); docs/operations.md, "Memory".
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=256"
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
COPY migrations ./migrations
# The image's user is nonroot (65532); Kubernetes' runAsNonRoot can check the numeric id.
USER 65532:65532
EXPOSE 3000
# The probes' port when PROBE_PORT=8081, as the Kubernetes manifests set it.
EXPOSE 8081
# The distroless image's entrypoint is node: the command is the script and its arguments. The
# telemetry bootstrap comes first; without OTEL_* or Application Insights settings it loads nothing.
CMD ["--import", "./dist/src/telemetry/bootstrap.js", "dist/src/server.js"]
