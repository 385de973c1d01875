import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

/** How long a connection opened during shutdown may take to send its request. */
const LATE_CONNECTION_MS = 1000;

/**
 * Shutdown must not wait for connections that have no request in flight. Node closes idle
 * keep-alive connections itself, but not one that was accepted and has not sent a request yet (a
 * pooled connection a client opened ahead of use): those are closed here when shutdown starts, and
 * one opened during shutdown gets a moment to send its request (which is answered 503).
 */
export function closeIdleConnectionsOnShutdown(app: FastifyInstance): void {
  const inFlight = new Map<Socket, number>();
  let closing = false;
  const settle = (socket: Socket): void => {
    if (closing && (inFlight.get(socket) ?? 0) === 0) socket.destroy();
  };
  app.server.on("connection", (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once("close", () => inFlight.delete(socket));
    if (closing) setTimeout(() => settle(socket), LATE_CONNECTION_MS).unref();
  });
  app.server.on("request", (request: { socket: Socket }, response: { once(event: "close", listener: () => void): void }) => {
    const socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once("close", () => {
      if (!inFlight.has(socket)) return;
      inFlight.set(socket, inFlight.get(socket)! - 1);
      settle(socket);
    });
  });
  app.addHook("preClose", async () => {
    closing = true;
    for (const socket of inFlight.keys()) settle(socket);
  });
}
