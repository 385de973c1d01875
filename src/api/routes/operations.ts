import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import type { AppDeps } from "../deps.js";

const Health = Type.Object({
  status: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
  /** How many stream sequences the read model is behind (null: not known yet). */
  lag: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  problem: Type.Optional(Type.String()),
});

export function operationRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get("/healthz", { schema: { security: [], response: { 200: Health } } }, async () => ({ status: "ok" }));

    const metrics = deps.metrics;
    if (metrics !== undefined)
      app.get("/metrics", { schema: { security: [], summary: "Prometheus metrics (text)" } }, async (_request, reply) => {
        const { contentType, body } = await metrics.exposition();
        return reply.type(contentType).send(body);
      });

    app.get("/readyz", { schema: { security: [], response: { 200: Health, 503: Health } } }, async (_request, reply) => {
      const { ready, checks, lag, problem } = deps.readiness();
      return reply.status(ready ? 200 : 503).send({
        status: ready ? "ready" : "not ready",
        checks: { ...checks },
        ...(lag === undefined ? {} : { lag }),
        ...(problem === undefined ? {} : { problem }),
      });
    });
  };
}
