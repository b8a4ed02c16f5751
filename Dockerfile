# ai-crmd: the Twilio voice server in a container. Two stages on Debian 13 (trixie) and Node 24 LTS: the build stage has
# the toolchain node-gyp needs for the native DSP addon (python3, make, g++) and the dev dependencies tsc needs; the
# runtime stage gets only the compiled JS, the addon, the production node_modules and package.json, and runs as a
# non-root user.
# Build:  docker build -t ai-crmd .
# Run:    docker run --rm -p 8080:8080 --env-file .env --stop-timeout 40 ai-crmd
# (--stop-timeout: give live calls DRAIN_TIMEOUT_S, default 30 s, to end before Docker's SIGKILL; its default is 10 s.)
# Trixie's glibc 2.41 is what the @btc-vision/uwebsockets.js build needs (2.38+) to load its Node 24 binary; on bookworm
# (2.36) only Node 20 has a native uWS (the trufflesuite build). The build fails rather than ship the slow JS fallback.
# scripts/test-on-node24-trixie.sh runs the test suite on this Node and Debian without Docker.

# ---------------------------------------------------------------------------------------------------------------- build
FROM node:24-trixie AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against this Node's own headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
# `npm ci` runs our install script (node-gyp rebuild: native/ + binding.gyp) and prepare (tsc over src, bench, test),
# so the sources must be in place before it. .dockerignore keeps node_modules, dist, build and .env out.
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY native ./native
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN npm ci \
 && npm run build \
 && test -f build/Release/ai_crmd_dsp.node \
 && test -f dist/src/main.js \
 && node -e "import('./dist/src/edge/uws.js').then((m) => { console.log('uWebSockets.js:', m.uwsEngine, m.uwsBuild); process.exit(m.uwsEngine === 'native' ? 0 : 1); })" \
 && npm prune --omit=dev

# -------------------------------------------------------------------------------------------------------------- runtime
FROM node:24-trixie-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# package.json: "type": "module" for dist/, and the addon loader finds the package root by it.
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/build/Release/ai_crmd_dsp.node ./build/Release/ai_crmd_dsp.node
COPY --from=build --chown=node:node /app/dist/src ./dist/src
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 8080
# /version answers from any edge thread once the server listens (node's own fetch: the slim image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/version').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 is fine here: the server handles SIGTERM/SIGINT itself (drain, then exit 0) and starts no child processes.
CMD ["node", "dist/src/main.js"]
