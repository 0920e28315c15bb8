# syntax=docker/dockerfile:1
# Hearth: Node 24 runs the TypeScript sources directly, so the image holds no build output,
# only production dependencies (better-sqlite3 and pg are the native/driver parts).

FROM node:24-bookworm-slim AS deps
WORKDIR /app
# Build tools only for a native module without a prebuilt binary for this platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --omit=dev: no test tools, and no `node` devDependency (bin/hearth uses the image's Node 24).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The image's `node` user (uid 1000); SQLite data, if used, goes to /app/data.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# /readyz: database reachable, migrations applied, every connector able to authenticate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/app/bin/hearth"]
CMD ["serve", "--config", "/etc/hearth/hearth.yaml", "--host", "0.0.0.0", "--port", "8080"]
