import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { CONTRACT_ROUTES as ALL_ROUTES, DOCUMENTATION_PATHS } from "../helpers/routes.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

interface Operation {
  security?: unknown[];
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
}

type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  security: unknown[];
};

/** Every route of the contract but the documentation's own. */
const CONTRACT_ROUTES = ALL_ROUTES.filter((route) => !DOCUMENTATION_PATHS.has(route.path));

/** `/v1/service-accounts/:account` → `/v1/service-accounts/{account}` */
const openApiPath = (path: string) => path.replace(/:([a-z]+)/g, "{$1}");

describe("GET /openapi.json and /docs", () => {
  let doc: Document;

  beforeAll(async () => {
    const answer = await fetch(`${daemon.url}/openapi.json`);
    expect(answer.status).toBe(200);
    doc = (await answer.json()) as Document;
  });

  it("lists every route of the contract, with its method", () => {
    expect(doc.openapi).toMatch(/^3\./);
    const missing = CONTRACT_ROUTES.filter(
      (route) => doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()] === undefined,
    ).map((route) => `${route.method} ${route.path}`);
    expect(missing).toEqual([]);
  });

  it("declares the bearer security scheme, required except on the public routes", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const route of CONTRACT_ROUTES) {
      const operation = doc.paths[openApiPath(route.path)]![route.method.toLowerCase()]!;
      if (route.access === "public") expect(operation.security, `${route.method} ${route.path}`).toEqual([]);
      else expect(operation.security, `${route.method} ${route.path}`).toBeUndefined();
    }
  });

  it("gives every authenticated route its error bodies, and the request schemas the routes validate with", () => {
    for (const route of CONTRACT_ROUTES.filter(
      (candidate) => candidate.access !== "public" && candidate.path.startsWith("/v1"),
    )) {
      const operation = doc.paths[openApiPath(route.path)]![route.method.toLowerCase()]!;
      for (const status of ["400", "401", "403", "429", "503"]) {
        const schema = operation.responses[status]?.content?.["application/json"]?.schema;
        expect(schema?.properties, `${route.method} ${route.path} ${status}`).toHaveProperty("error");
      }
    }
    const create = doc.paths["/v1/service-accounts"]!.post!;
    const body = create.requestBody!.content["application/json"]!.schema as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["name", "description", "roles", "active", "createApiKey"]),
    );
    expect(body.required).toEqual(["name"]);
    const list = doc.paths["/v1/service-accounts"]!.get!;
    expect(list.parameters!.filter((p) => p.in === "query").map((p) => p.name)).toEqual(
      expect.arrayContaining(["active", "name", "limit", "cursor", "asOf"]),
    );
  });

  it("serves a browsable page at /docs", async () => {
    const answer = await fetch(`${daemon.url}/docs`, { redirect: "follow" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("text/html");
    expect(await answer.text()).toContain("swagger");
  });
});
