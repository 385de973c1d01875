import type { FastifyReply } from "fastify";

/**
 * The answer to HEAD on a route whose GET is long work or a stream (an audit, the live tail): the
 * head GET would have, without doing the work.
 */
export function headOnly(reply: FastifyReply, contentType: string): FastifyReply {
  reply.hijack();
  reply.raw.writeHead(200, { "content-type": contentType, "x-request-id": String(reply.request.id) });
  reply.raw.end();
  return reply;
}
