import type { Socket } from "node:net";
import { newRequestId } from "../../application/index.js";

/**
 * Requests Node's HTTP parser refuses before fastify sees them (not HTTP, a head over 16 KiB, a
 * bad chunk, a path with spaces) still get the contract's error body, an `x-request-id`, and
 * `Connection: close`, since the connection cannot be read any further.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) {
    socket.destroy();
    return;
  }
  if (!socket.writable) return;
  const requestId = newRequestId();
  const message =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "the request's head (path and headers) is too large"
      : "the request is not valid HTTP/1.1";
  const body = JSON.stringify({ error: { code: "invalid_request", message, requestId } });
  socket.end(
    [
      "HTTP/1.1 400 Bad Request",
      "content-type: application/json; charset=utf-8",
      `content-length: ${Buffer.byteLength(body)}`,
      `x-request-id: ${requestId}`,
      "connection: close",
      "",
      body,
    ].join("\r\n"),
  );
}
