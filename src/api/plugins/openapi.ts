import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/**
 * `GET /openapi.json` and a browsable `GET /docs`, generated from the TypeBox schemas the routes
 * validate with (one source): every route registered after this, with its body, query, path and
 * response schemas, every error body, and the bearer security scheme. Operations routes say
 * `security: []` themselves.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "keyledger",
        version: "1",
        description: "Service accounts and their API keys, event-sourced on NATS JetStream. Contract: http-api.md.",
      },
      components: {
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description: "An API key (kl_<key id>_<secret>) or an access token from POST /v1/auth/token",
          },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
