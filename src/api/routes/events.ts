import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Static } from "typebox";
import { Type } from "../schemas/json-schema.js";
import { InvalidValueError } from "../../domain/index.js";
import { historyPage } from "../../events/index.js";
import { accountSubject, ALL_EVENTS_FILTER } from "../../format/index.js";
import { hijackWithOwnAccessLine } from "../access-log.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../errors.js";
import { principalOf, type RequireRoles } from "../plugins/authenticate.js";
import { EventEnvelope, EventTypeParam } from "../schemas/audit.js";
import { errorResponses } from "../schemas/common.js";
import { headOnly } from "./head-only.js";
import { LiveTail, type TailMessages } from "./live-tail.js";
import { streamAdmission } from "./stream-admission.js";

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

/** History (`GET /v1/events`) and its live tail as Server-Sent Events (`GET /v1/events/stream`). */
export function eventRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);

  /** An account filter by id (deleted accounts included) or by name: its holder now, else its last one. */
  const accountIdOf = async (idOrName: string | undefined): Promise<string | undefined> => {
    if (idOrName === undefined) return undefined;
    const id = await deps.queries.knownAccountId(idOrName);
    if (id === null) throw notFound("service account");
    return id;
  };

  /**
   * Where a live tail starts and its consumer, or null for HEAD (which has no stream). A wrong
   * request fails here, before the consumer is created.
   */
  const startTail = async (
    query: Static<typeof StreamQuery>,
    lastEventId: string | string[] | undefined,
    head: boolean,
  ): Promise<{ after: number; accountId: string | undefined; messages: TailMessages } | null> => {
    const accountId = await accountIdOf(query.account);
    let after: number;
    if (lastEventId !== undefined) {
      if (typeof lastEventId !== "string" || !/^\d{1,15}$/.test(lastEventId.trim()))
        throw new InvalidValueError("Last-Event-ID", "Last-Event-ID header must be a stream sequence this API sent");
      after = Number(lastEventId.trim());
    } else {
      after = query.after ?? (await deps.store.head());
    }
    if (head) return null;
    // Created before the answer starts, so that an unreachable store is still a 503 with a body.
    const messages = await deps.store.tail(after, accountId === undefined ? ALL_EVENTS_FILTER : accountSubject(accountId));
    return { after, accountId, messages };
  };

  return async (app) => {
    const admission = streamAdmission(deps.streamLimits, deps.metrics);
    const open = new Set<LiveTail>();
    let closing = false;
    app.addHook("preClose", async () => {
      closing = true;
      for (const tail of open) tail.end("shutdown");
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
        const principal = principalOf(request);
        // Counted before any work is done for it, so that a refused request costs nothing more.
        const slot = admission.admit(principal.account.id);
        let started;
        try {
          started = await startTail(request.query, request.headers["last-event-id"], request.method === "HEAD");
        } catch (error) {
          admission.release(slot);
          throw error;
        }
        // HEAD: the head of the stream's answer, and no stream (it would end only when the client leaves).
        if (started === null) {
          admission.release(slot);
          return headOnly(reply, "text/event-stream; charset=utf-8");
        }

        const { after, accountId, messages } = started;
        const { type } = request.query;
        hijackWithOwnAccessLine(reply);
        const response = reply.raw;
        response.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
          "x-request-id": String(request.id),
        });
        const tail = new LiveTail(response, messages, type, (end) => {
          open.delete(tail);
          admission.release(slot);
          // The stream's one access line (fastify's is left out for it): who, what, how much, how long, why it ended.
          const line = {
            req: request,
            principal: { accountId: principal.account.id, keyId: principal.key.id },
            filter: { account: accountId ?? null, type: type ?? null },
            after,
            eventsSent: end.sent,
            durationMs: end.durationMs,
            endReason: end.reason,
          };
          if (end.reason === "error") request.log.warn({ ...line, err: end.error }, "event stream ended");
          else request.log.info(line, "event stream ended");
        });
        open.add(tail);
        // A stream whose start was under way when the shutdown began would otherwise hold it open.
        if (closing) tail.end("shutdown");
        await tail.run();
      },
    );
  };
}
