/**
 * Every schema the routes validate requests with and serialise answers with, as fastify hands them
 * to the daemon's compilers when `buildApp` registers the routes. The daemon compiles them without
 * checking them against JSON Schema's meta-schema (its schemas are constants, and that check cost
 * about 60 ms of each start): this test is where a schema that is not valid JSON Schema fails.
 */
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { FastifyInstance } from "fastify";
import { registrationDeps } from "../../helpers/registration-deps.js";

const seen = vi.hoisted(() => ({
  validated: [] as Array<{ part: string; url: string; schema: object; compiled: unknown }>,
  serialised: [] as Array<{ status: string; url: string; schema: object; compiled: unknown }>,
}));

vi.mock("../../../src/api/validation.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../src/api/validation.js")>();
  return {
    ...real,
    validatorCompiler: (route: Parameters<typeof real.validatorCompiler>[0]) => {
      const compiled = real.validatorCompiler(route);
      seen.validated.push({ part: String(route.httpPart), url: route.url, schema: route.schema as object, compiled });
      return compiled;
    },
  };
});

vi.mock("../../../src/api/serializer-compiler.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../src/api/serializer-compiler.js")>();
  return {
    ...real,
    sharedSerializers: () => {
      const compile = real.sharedSerializers();
      return (route: Parameters<typeof compile>[0]) => {
        const compiled = compile(route);
        seen.serialised.push({ status: String(route.httpStatus), url: route.url, schema: route.schema as object, compiled });
        return compiled;
      };
    },
  };
});

const { buildApp } = await import("../../../src/api/index.js");
const { validatorOptions } = await import("../../../src/api/validation.js");

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp(registrationDeps());
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

describe("the routes' schemas", () => {
  it("are all valid JSON Schema, checked with the options the daemon compiles them with", () => {
    expect(seen.validated.length).toBeGreaterThan(20);
    expect(seen.serialised.length).toBeGreaterThan(100);
    const checker = addFormats(new Ajv({ ...validatorOptions(false), validateSchema: true, strict: true, strictRequired: false }));
    const invalid = [...seen.validated, ...seen.serialised]
      .filter(({ schema }) => !checker.validateSchema(schema))
      .map(({ url, schema }) => `${url}: ${checker.errorsText()} in ${JSON.stringify(schema).slice(0, 120)}`);
    expect(invalid).toEqual([]);
  });

  it("are compiled once for each distinct schema, and equal schemas share what was compiled", () => {
    for (const [list, name] of [
      [seen.validated, "validator"],
      [seen.serialised, "serializer"],
    ] as const) {
      const byText = new Map<string, Set<unknown>>();
      for (const { schema, compiled } of list as ReadonlyArray<{ schema: object; compiled: unknown }>) {
        const text = JSON.stringify(schema);
        byText.set(text, (byText.get(text) ?? new Set()).add(compiled));
      }
      const split = [...byText].filter(([, compiled]) => compiled.size > 1).map(([text]) => text.slice(0, 80));
      expect(split, `schemas compiled into more than one ${name}`).toEqual([]);
      const distinct = new Set(list.map(({ compiled }) => compiled));
      expect(distinct.size, `one ${name} per distinct schema`).toBe(byText.size);
      expect(byText.size).toBeLessThan(list.length);
    }
  });

  it("still validate and serialise per route: a bad body is refused, an answer keeps only its schema's members", () => {
    const body = seen.validated.find(({ part, url }) => part === "body" && url === "/v1/service-accounts");
    const validate = body!.compiled as (data: unknown) => boolean;
    expect(validate({ name: "ci" })).toBe(true);
    expect(validate({ name: "ci", owner: "me" })).toBe(false);
    const error = seen.serialised.find(({ status, url }) => status === "404" && url === "/v1/service-accounts/:account");
    const serialise = error!.compiled as (data: unknown) => string;
    expect(JSON.parse(serialise({ error: { code: "not_found", message: "gone", requestId: "r1", secret: "kl_x" } }))).toEqual({
      error: { code: "not_found", message: "gone", requestId: "r1" },
    });
  });
});
