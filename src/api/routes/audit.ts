import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import { auditStream, AuditStopped, type AuditReport as Report } from "../../audit/index.js";
import { foldStatements } from "../../trust/index.js";
import type { AuditSlots } from "../audit-slots.js";
import type { AppDeps } from "../deps.js";
import { HttpError } from "../errors.js";
import { readKeyStatements } from "../key-statements.js";
import { principalOf, type RequireRoles } from "../plugins/authenticate.js";
import { parseAsOf } from "../as-of.js";
import { presentAccountAsOf, presentAccountChange } from "../presenters.js";
import { auditWork, pastAt } from "../time-travel.js";
import { AsOfParam, AuditDiff, AuditReport, Kid, PointInTime, ServiceAccountAsOf } from "../schemas/audit.js";
import { errorResponses } from "../schemas/common.js";
import { headOnly } from "./head-only.js";

const VerifyQuery = Type.Object(
  { maxProblems: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 })), anchor: Type.Optional(Kid) },
  { additionalProperties: false },
);
const StateQuery = Type.Object(
  {
    asOf: AsOfParam,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const DiffQuery = Type.Object(
  {
    from: AsOfParam,
    /** Omitted: the stream's head when the request arrives (the answer's `to` says which sequence that was). */
    to: Type.Optional(AsOfParam),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const NDJSON = "application/x-ndjson";

/**
 * `GET /v1/audit/verify`: every signature, hash, chain link and checkpoint of the stream, checked
 * against the public keys of the daemons. With `Accept: application/x-ndjson` the answer is a line
 * of progress now and then, and the report as the last line (`{"report": …}`).
 * `GET /v1/audit/state?asOf=&limit=&cursor=`: the accounts and keys as they were at a point in
 * history, a page at a time (like the account list).
 * `GET /v1/audit/diff?from=&to=`: the accounts and keys created, deleted or changed between two points
 * (`to` omitted: up to the head).
 */
export function auditRoutes(deps: AppDeps, requireRoles: RequireRoles, slots: AuditSlots): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);
  return async (app) => {
    // An audit stops when its caller goes away, and when the daemon stops (it would hold the shutdown up).
    const running = new Set<AbortController>();
    app.addHook("preClose", async () => {
      for (const controller of running) controller.abort();
    });

    app.get(
      "/v1/audit/verify",
      { onRequest: read, schema: { querystring: VerifyQuery, response: { 200: AuditReport, ...errorResponses } } },
      async (request, reply) => {
        if (request.method === "HEAD") return headOnly(reply, "application/json; charset=utf-8");
        return deps.audits.runWholeStream(principalOf(request).account.id, async () => {
          // Audits and evidence exports share the daemon's places for whole-stream reads.
          slots.take();
          const stopping = new AbortController();
          running.add(stopping);
          reply.raw.once("close", () => {
            if (!reply.raw.writableEnded) stopping.abort();
          });
          try {
            const anchor = deps.auditAnchor();
            const head = await deps.store.head();
            // The trust root is read from the stream itself, checked from its genesis against the pinned anchor.
            const pinnedAnchor = request.query.anchor ?? deps.trustAnchor;
            const trust = foldStatements(await readKeyStatements(deps.store, head), pinnedAnchor);
            // In the background: the daemon's requests come first (see AuditOptions.background).
            const options = {
              trust,
              pinnedAnchor,
              head,
              anchor,
              maxProblems: request.query.maxProblems ?? 1000,
              background: true,
              pace: (workedMs: number) => deps.audits.pace(workedMs),
              signal: stopping.signal,
            };
            if (!String(request.headers.accept ?? "").includes(NDJSON)) {
              try {
                return await auditStream(deps.store.messages({ fromSeq: 1, toSeq: head }), options);
              } catch (error) {
                if (!(error instanceof AuditStopped)) throw error;
                request.log.info("audit stopped: its caller went away, or the daemon is stopping");
                throw new HttpError("unavailable", "the audit was stopped: the daemon is stopping");
              }
            }
            // Progress as it goes (the head was read above, so an unreachable store is still a 503 with a body).
            const messages = deps.store.messages({ fromSeq: 1, toSeq: head });
            reply.hijack();
            const response = reply.raw;
            response.writeHead(200, { "content-type": NDJSON, "x-request-id": String(request.id) });
            let report: Report | undefined;
            try {
              report = await auditStream(messages, {
                ...options,
                onProgress: (progress) => response.write(`${JSON.stringify({ progress })}\n`),
              });
              response.write(`${JSON.stringify({ report })}\n`);
            } catch (error) {
              const stopped = error instanceof AuditStopped;
              if (stopped) request.log.info("audit stopped: its caller went away, or the daemon is stopping");
              else request.log.error({ err: error }, "audit failed");
              const body = {
                code: "unavailable",
                message: stopped ? "the audit was stopped: the daemon is stopping" : "the audit could not read the whole stream",
                requestId: String(request.id),
              };
              if (!response.destroyed) response.write(`${JSON.stringify({ error: body })}\n`);
            }
            response.end();
            return reply;
          } finally {
            running.delete(stopping);
            slots.release();
          }
        });
      },
    );

    app.get(
      "/v1/audit/state",
      {
        onRequest: read,
        schema: {
          querystring: StateQuery,
          response: {
            200: Type.Object({
              asOf: PointInTime,
              serviceAccounts: Type.Array(ServiceAccountAsOf),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { asOf, limit, cursor } = request.query;
        return auditWork(deps, request, async () => {
          const { past, point } = await pastAt(deps, asOf);
          const page = await past.page({ limit: limit ?? 50, cursor });
          const accounts = await Promise.all(page.items.map((fields) => past.account(fields.id)));
          return {
            asOf: point,
            serviceAccounts: accounts.flatMap((account) => (account === null ? [] : [presentAccountAsOf(account, point.at)])),
            nextCursor: page.nextCursor,
          };
        });
      },
    );

    app.get(
      "/v1/audit/diff",
      {
        onRequest: read,
        schema: { querystring: DiffQuery, response: { 200: AuditDiff, ...errorResponses } },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        return auditWork(deps, request, async () => {
          const from = await deps.timeTravel.resolve(parseAsOf(request.query.from, "from"), "from");
          const to = await deps.timeTravel.resolve(
            request.query.to === undefined ? { seq: await deps.store.head() } : parseAsOf(request.query.to, "to"),
            "to",
          );
          const page = await deps.timeTravel.changes(from, to, { limit: limit ?? 100, cursor });
          return {
            from,
            to,
            accounts: page.changes.map((change) => presentAccountChange(change, from.at, to.at)),
            events: page.events,
            nextCursor: page.nextCursor,
          };
        });
      },
    );

    app.get(
      "/v1/audit/checkpoint",
      { onRequest: read, schema: { response: { 200: Checkpoint, ...errorResponses } } },
      async () => {
        const head = deps.lastCheckpoint();
        if (head === null) throw new HttpError("not_found", "no signed checkpoint has been passed yet");
        return { seq: head.seq, upToSeq: head.upToSeq, eventCount: head.eventCount, hash: head.hash };
      },
    );
  };
}

/** The last authentic checkpoint this daemon's read model passed (hashed right, signed by a trusted key). */
const Checkpoint = Type.Object({
  seq: Type.Integer({ description: "the checkpoint message's stream sequence" }),
  upToSeq: Type.Integer({ description: "the last event message it covers" }),
  eventCount: Type.Integer({ description: "event messages covered from the start of the stream" }),
  hash: Type.String({ description: "the checkpoint's own hash (the next one chains to it)" }),
});
