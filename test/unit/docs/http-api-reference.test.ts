/**
 * docs/http-api.md against the routes the daemon registers: the app is built by `buildApp` itself
 * (with stand-in dependencies that registration never calls), and its OpenAPI document (the one
 * `GET /openapi.json` serves, generated from the schemas the routes validate with) is the list of
 * routes. Every route of it has a section in the doc (a heading `METHOD /path`), every such section
 * names a route that exists, and each section names the query and body parameters its route takes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../../src/api/index.js";
import { registrationDeps } from "../../helpers/registration-deps.js";
import { docSections, type DocSection } from "./sections.js";

const DOC = join(process.cwd(), "docs", "http-api.md");

/**
 * Routes served but not in the OpenAPI document: those that describe the API, and the web
 * console's page (its files under /console/assets/ are named in its section).
 */
const DOCUMENTATION_ROUTES = ["GET /openapi.json", "GET /docs", "GET /console"];

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

interface Schema {
  properties?: Record<string, unknown>;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

interface Operation {
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

interface OpenApi {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}

/** `/v1/service-accounts/:account` in the doc is `/v1/service-accounts/{account}` in OpenAPI. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, "{$1}");

/** The members a body schema may have, through unions (`{…} | null`) and intersections. */
function bodyMembers(schema: Schema | undefined): string[] {
  if (schema === undefined) return [];
  const nested = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])].flatMap(bodyMembers);
  return [...new Set([...Object.keys(schema.properties ?? {}), ...nested])];
}

const ROUTE_HEADING = /^(GET|POST|PUT|PATCH|DELETE) (\/\S*)$/;

let app: FastifyInstance;
let openApi: OpenApi;
let routes: Map<string, DocSection>;

beforeAll(async () => {
  app = await buildApp(registrationDeps());
  await app.ready();
  openApi = app.swagger() as unknown as OpenApi;
  routes = new Map();
  for (const section of docSections(await readFile(DOC, "utf8"))) {
    const match = ROUTE_HEADING.exec(section.title);
    if (match === null) continue;
    const key = `${match[1]} ${openApiPath(match[2]!)}`;
    expect(routes.has(key), `docs/http-api.md has two sections for ${section.title}`).toBe(false);
    routes.set(key, section);
  }
});

afterAll(async () => {
  await app?.close();
});

/** Every operation of the OpenAPI document as `METHOD /path`, with the operation. */
function operations(): Array<{ route: string; operation: Operation }> {
  return Object.entries(openApi.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation === undefined ? [] : [{ route: `${method.toUpperCase()} ${path}`, operation }];
    }),
  );
}

describe("docs/http-api.md", () => {
  it("has a section for every route of the app's OpenAPI document", () => {
    const all = operations();
    expect(all.length).toBeGreaterThan(20);
    const missing = all.map(({ route }) => route).filter((route) => !routes.has(route));
    expect(missing, "routes the app serves but docs/http-api.md has no `### METHOD /path` section for").toEqual([]);
  });

  it("has no section for a route the app does not serve", async () => {
    const served = new Set([...operations().map(({ route }) => route), ...DOCUMENTATION_ROUTES]);
    const unknown = [...routes.keys()].filter((route) => !served.has(route));
    expect(unknown, "sections of docs/http-api.md for routes the app does not have").toEqual([]);
    // The routes of the documentation itself are left out of OpenAPI: they must still exist.
    for (const route of DOCUMENTATION_ROUTES) {
      const [method, url] = route.split(" ") as [string, string];
      const answer = await app.inject({ method: method as "GET", url });
      expect(answer.statusCode, route).toBeLessThan(400);
      expect(routes.has(route), `docs/http-api.md has a section for ${route}`).toBe(true);
    }
  });

  it("names, in each route's section, every query and body parameter the route accepts", () => {
    const missing: string[] = [];
    for (const { route, operation } of operations()) {
      const section = routes.get(route);
      if (section === undefined) continue; // reported above
      const query = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
      const body = bodyMembers(operation.requestBody?.content?.["application/json"]?.schema);
      for (const name of [...query, ...body]) if (!section.body.includes(`\`${name}\``)) missing.push(`${route}: \`${name}\``);
    }
    expect(missing, "parameters the routes accept that their sections of docs/http-api.md do not name").toEqual([]);
  });
});
