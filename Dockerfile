# keyledger daemon image. The daemon talks to an external NATS (KEYLEDGER_NATS_URL), see docker-compose.yml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# The SDK's workspace (packages/client) is listed in package.json: npm ci needs its manifest.
COPY packages/client/package.json ./packages/client/package.json
COPY scripts ./scripts
COPY src ./src
RUN npm ci --ignore-scripts && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    KEYLEDGER_HOST=0.0.0.0 \
    KEYLEDGER_PORT=8080 \
    KEYLEDGER_DATA_DIR=/var/lib/keyledger
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/keyledger && chown node:node /var/lib/keyledger
USER node
EXPOSE 8080
VOLUME ["/var/lib/keyledger"]
CMD ["node", "dist/cli/main.js", "serve"]
