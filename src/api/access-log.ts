import { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import { loggedAddress, safePath, type AccessLineWriter } from "../logger.js";
import { sinceHandedOverArrival } from "./fast-verify.js";

/**
 * Requests whose route took the answer over for a long life (the live tail) and writes its own
 * access line when it ends. Fastify's line would be wrong for them: it comes only when the server
 * ends the answer (not when the client leaves), says 200 with the whole life as response time,
 * and knows nothing of what was sent. Weak, so that a request is forgotten with its answer.
 */
const ownAccessLine = new WeakSet<FastifyRequest>();

/** Hijacks the reply for a long-lived answer whose route logs its own access line when it ends. */
export function hijackWithOwnAccessLine(reply: FastifyReply): void {
  ownAccessLine.add(reply.request);
  reply.hijack();
}

/** Whether the route writes this request's access line itself (then fastify's hooks leave it out). */
export function writesOwnAccessLine(request: FastifyRequest): boolean {
  return ownAccessLine.has(request);
}

/** One access line per request, when it completes (fastify's default writes two: in and out). */
export class AccessLog extends LogController {
  constructor(private readonly write: AccessLineWriter) {
    super();
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (writesOwnAccessLine(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, responseTime: reply.elapsedTime, err: error }, "request errored");
      return;
    }
    this.write({
      reqId: String(request.id),
      // Behind a trusted proxy the address comes from X-Forwarded-For, which a client may write: only an address is kept.
      req: { method: request.method, path: safePath(request.url), remoteAddress: loggedAddress(request.ip) },
      res: { statusCode: reply.statusCode },
      responseTime: sinceHandedOverArrival(request.raw) ?? reply.elapsedTime,
    });
  }
}
