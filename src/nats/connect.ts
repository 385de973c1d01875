import { connect, type NatsConnection } from "@nats-io/transport-node";

/** Connects to NATS (failing fast when it cannot be reached), then reconnects forever after a loss. */
export async function connectNats(servers: string, name: string, token?: string): Promise<NatsConnection> {
  return connect({
    ...(token === undefined ? {} : { token }),
    servers: servers.split(",").map((server) => server.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
    timeout: 10_000,
  });
}
