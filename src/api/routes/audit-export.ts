import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { performance } from "node:perf_hooks";
import { Type } from "../schemas/json-schema.js";
import { BUNDLE_FORMAT, BUNDLE_VERSION } from "../../format/index.js";
import { foldStatements, signerAt, SigningKeyNotTrustedError } from "../../trust/index.js";
import { hijackWithOwnAccessLine } from "../access-log.js";
import type { AuditSlots } from "../audit-slots.js";
import type { AppDeps } from "../deps.js";
import { bundleLines } from "../evidence-bundle.js";
import { readKeyStatements } from "../key-statements.js";
import { NdjsonWriter } from "../ndjson-writer.js";
import { sendBundle } from "../send-bundle.js";
import { principalOf, type RequireRoles } from "../plugins/authenticate.js";
import { errorResponses } from "../schemas/common.js";
import { headOnly } from "./head-only.js";

const NDJSON = "application/x-ndjson";
const ExportQuery = Type.Object({}, { additionalProperties: false });

/**
 * `GET /v1/audit/export`: the evidence bundle (docs/evidence-bundle.md) as NDJSON, streamed as the
 * stream is read (nothing but the key statements is held), sealed by this daemon's signing key when
 * the ledger trusts it. It takes one of the places audits take (503 beyond them). A failure half-way
 * ends the answer with an `{"error": …}` line; a client that leaves stops the read.
 */
export function auditExportRoutes(deps: AppDeps, requireRoles: RequireRoles, slots: AuditSlots): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);
  return async (app) => {
    const running = new Set<AbortController>();
    app.addHook("preClose", async () => {
      for (const controller of running) controller.abort();
    });

    app.get(
      "/v1/audit/export",
      { onRequest: read, schema: { querystring: ExportQuery, response: errorResponses } },
      async (request, reply) => {
        if (request.method === "HEAD") return headOnly(reply, NDJSON);
        const principal = principalOf(request);
        // Within the caller's and the daemon's caps on audit requests, then one of the whole-stream places.
        const admitted = deps.audits.hold(principal.account.id);
        try {
          slots.take();
        } catch (error) {
          admitted.done();
          throw error;
        }
        const stopping = new AbortController();
        running.add(stopping);
        try {
          // Read before the answer starts, so that an unreachable store is still a 503 with a body.
          const stream = deps.store.options.stream;
          const head = await deps.store.head();
          const statements = await readKeyStatements(deps.store, head);
          const trust = foldStatements(statements, deps.trustAnchor);
          const started = performance.now();

          hijackWithOwnAccessLine(reply);
          const response = reply.raw;
          response.writeHead(200, {
            "content-type": NDJSON,
            "content-disposition": `attachment; filename="keyledger-${stream.replace(/[^A-Za-z0-9_-]/g, "_")}-${head}.ndjson"`,
            "cache-control": "no-store",
            "x-request-id": String(request.id),
          });
          const writer = new NdjsonWriter(response);
          const lines = bundleLines({
            header: {
              format: BUNDLE_FORMAT,
              version: BUNDLE_VERSION,
              stream,
              head,
              anchor: trust.state.anchor,
              exportedAt: deps.clock().toISOString(),
            },
            statements,
            messages: deps.store.messages({ fromSeq: 1, toSeq: head }),
            seal: {
              keyId: deps.signer.keyId,
              // Sealed only by a key that both the bundle's own statements and the ledger now trust.
              sign: (bytes) => {
                if ("code" in signerAt(trust.state, deps.signer.keyId, head + 1)) return null;
                try {
                  return Buffer.from(deps.signer.sign(bytes)).toString("base64url");
                } catch (error) {
                  if (error instanceof SigningKeyNotTrustedError) return null;
                  throw error;
                }
              },
            },
          });

          const sent = await sendBundle(writer, lines, stopping.signal, String(request.id));
          const line = {
            req: request,
            principal: { accountId: principal.account.id, keyId: principal.key.id },
            head,
            lines: sent.lines,
            bytes: writer.bytes,
            sealed: sent.seal?.signature != null,
            durationMs: Math.round(performance.now() - started),
            endReason: sent.end,
          };
          if (sent.end === "error") request.log.warn({ ...line, err: sent.failure }, "evidence export ended");
          else request.log.info(line, "evidence export ended");
          return reply;
        } finally {
          running.delete(stopping);
          slots.release();
          admitted.done();
        }
      },
    );
  };
}
