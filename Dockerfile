# netmon as a container: a build stage that compiles the TypeScript and the `pcap` addon, and a
# minimal runtime stage that runs as a non-root user with only CAP_NET_RAW (on the node binary).
#
#   docker run -d --name netmon --network host --pid host \
#     --cap-drop ALL --cap-add NET_RAW \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     netmon/netmon
# (see the README: --network host to see the Docker bridges, --pid host for /proc/<pid>/net.)

FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY detectors ./detectors
# tsc, then the bundle the image runs (scripts/bundle.mjs: dist/bundle/, the page's assets in ui/).
RUN npx tsc -p tsconfig.json \
 && node scripts/bundle.mjs \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# libpcap for capture; setcap is needed once, to give node CAP_NET_RAW (Docker does not pass added
# capabilities to a non-root user's processes), then removed with everything apt leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && setcap cap_net_raw+ep /usr/local/bin/node \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/netmon /etc/netmon \
 && chown node:node /var/lib/netmon
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
# The bundle alone: node_modules still serves what it loads at run time (pcap, tldts,
# cytoscape's page script).
COPY --from=build /src/dist/bundle ./dist/bundle
COPY config/netmon.yaml /etc/netmon/netmon.yaml
USER node
ENTRYPOINT ["node", "/app/dist/bundle/netmon.js"]
CMD ["run", "--config", "/etc/netmon/netmon.yaml"]
