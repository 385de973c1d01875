export { connectNats, natsAuthOf } from "./connect.js";
export type { NatsClientAuth } from "./connect.js";
export { ConnectionState } from "./connection-state.js";
export { followBucket } from "./kv-follow.js";
export type { BucketHandlers } from "./kv-follow.js";
export { findNatsServer, INSTALL_HINT, NatsServerNotFoundError, startNatsServer } from "./embedded-server.js";
export type { EmbeddedNats, EmbeddedNatsOptions } from "./embedded-server.js";
