import { once } from "node:events";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { ServerResponse } from "node:http";
import { Type } from "typebox";
import { InvalidValueError } from "../../domain/index.js";
import { accountSubject, ALL_EVENTS_FILTER, decodeEnvelope, historyPage } from "../../events/index.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../errors.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { EventEnvelope, EventTypeParam } from "../schemas/audit.js";
import { errorResponses } from "../schemas/common.js";
import { headOnly } from "./head-only.js";

const Sequence = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const AccountFilter = Type.String({ minLength: 1, maxLength: 64 });

const ListQuery = Type.Object(
  {
    after: Type.Optional(Sequence),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    account: Type.Optional(AccountFilter),
    type: Type.Optional(EventTypeParam),
  },
  { additionalProperties: false },
);
const StreamQuery = Type.Object(
  { after: Type.Optional(Sequence), account: Type.Optional(AccountFilter), type: Type.Optional(EventTypeParam) },
  { additionalProperties: false },
);

const HEARTBEAT_MS = 15_000;

/** History (`GET /v1/events`) and its live tail as Server-Sent Events (`GET /v1/events/stream`). */
export function eventRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);

  /** An account filter by id (deleted accounts included) or by its current name. */
  const accountIdOf = async (idOrName: string | undefined): Promise<string | undefined> => {
    if (idOrName === undefined) return undefined;
    const id = await deps.queries.knownAccountId(idOrName);
    if (id === null) throw notFound("service account");
    return id;
  };

  return async (app) => {
    const open = new Set<ServerResponse>();
    app.addHook("preClose", async () => {
      for (const response of open) response.end();
    });

    app.get(
      "/v1/events",
      {
        onRequest: read,
        schema: {
          querystring: ListQuery,
          response: {
            200: Type.Object({ items: Type.Array(EventEnvelope), next: Type.Union([Type.Integer(), Type.Null()]) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { after, limit, account, type } = request.query;
        return historyPage(deps.store, { after: after ?? 0, limit: limit ?? 100, accountId: await accountIdOf(account), type });
      },
    );

    app.get(
      "/v1/events/stream",
      { onRequest: read, schema: { querystring: StreamQuery, response: errorResponses } },
      async (request, reply) => {
        const { account, type } = request.query;
        const accountId = await accountIdOf(account);
        const lastEventId = request.headers["last-event-id"];
        let after: number;
        if (lastEventId !== undefined) {
          if (typeof lastEventId !== "string" || !/^\d{1,15}$/.test(lastEventId.trim()))
            throw new InvalidValueError("Last-Event-ID", "Last-Event-ID header must be a stream sequence this API sent");
          after = Number(lastEventId.trim());
        } else {
          after = request.query.after ?? (await deps.store.head());
        }
        // HEAD: the head of the stream's answer, and no stream (it would end only when the client leaves).
        if (request.method === "HEAD") return headOnly(reply, "text/event-stream; charset=utf-8");
        // Created before the answer starts, so that an unreachable store is still a 503 with a body.
        const messages = await deps.store.tail(after, accountId === undefined ? ALL_EVENTS_FILTER : accountSubject(accountId));

        reply.hijack();
        const response = reply.raw;
        response.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
          "x-request-id": String(request.id),
        });
        open.add(response);
        const heartbeat = setInterval(() => response.write(": keep-alive\n\n"), HEARTBEAT_MS);
        const stop = (): void => {
          clearInterval(heartbeat);
          open.delete(response);
          void messages.close();
        };
        response.on("close", stop);
        response.write("retry: 1000\n\n");
        try {
          for await (const message of messages) {
            if (response.writableEnded || response.destroyed) break;
            let event;
            try {
              event = decodeEnvelope(message.data);
            } catch {
              continue; // not a readable event: the audit reports it; the tail passes it over
            }
            if (type !== undefined && event.type !== type) continue;
            const frame = `id: ${message.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ seq: message.seq, ...event })}\n\n`;
            if (!response.write(frame)) await Promise.race([once(response, "drain"), once(response, "close")]);
          }
        } catch (error) {
          request.log.warn({ err: error }, "the event stream tail ended");
        } finally {
          stop();
          if (!response.writableEnded) response.end();
        }
      },
    );
  };
}
