import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import { NAME_RULE } from "../domain/index.js";
import { compiledOncePerSchema } from "./compile-once.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The options every validator is compiled with (`test/unit/api/route-schemas.test.ts` checks the schemas themselves). */
export function validatorOptions(coerceTypes: boolean) {
  // Unknown members are refused (400), never silently dropped; bodies are never coerced. The
  // schemas are the daemon's own constants: checking them against JSON Schema's meta-schema at each
  // start (each Ajv instance compiles the meta-schema first: about 60 ms of a start) is left to that test.
  return { allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes, strict: false, validateSchema: false };
}

type Validate = ReturnType<FastifySchemaCompiler<unknown>>;

/** One compiled validator for each distinct schema: many routes share their path parameters and queries. */
function compiler(coerceTypes: boolean): (schema: object) => Validate {
  const ajv = addFormats(new Ajv(validatorOptions(coerceTypes)));
  return compiledOncePerSchema((schema) => ajv.compile(schema) as Validate);
}

const bodies = compiler(false);
const others = compiler(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === "body" ? bodies : others)(schema as object);

const PART = { body: "body", querystring: "query parameter", params: "path parameter", headers: "header" } as const;

/** A sentence naming the field at fault and why, from the first validation error. */
export function describeValidation(errors: readonly Partial<ErrorObject>[], context: string | undefined): string {
  const error = errors[0];
  const where = PART[(context ?? "body") as keyof typeof PART] ?? "body";
  if (error === undefined) return `invalid ${where}`;
  const params = (error.params ?? {}) as Record<string, unknown>;
  const path = (error.instancePath ?? "").split("/").filter(Boolean).join(".");
  if (typeof params.missingProperty === "string") return `${join(path, params.missingProperty)} is required`;
  if (typeof params.additionalProperty === "string")
    return `${join(path, params.additionalProperty)} is not a known ${where} field`;
  const field = path === "" ? where : path;
  const leaf = field.split(".").at(-1) ?? field;
  if (error.keyword === "pattern" && (leaf === "name" || leaf === "account" || leaf === "key"))
    return `${field} must be ${NAME_RULE}`;
  if (error.keyword === "format" && params.format === "date-time") return `${field} must be an ISO-8601 date-time`;
  if (error.keyword === "enum" && Array.isArray(params.allowedValues))
    return `${field} must be one of ${params.allowedValues.join(", ")}`;
  if (error.keyword === "type" && path === "") return `${where} must be a JSON object`;
  const plain = plainSentence(field, error.keyword, params);
  if (plain !== null) return plain;
  return `${field} ${error.message ?? "is invalid"}`;
}

/** The sentences a person would write for the usual JSON Schema keywords (ajv says "must NOT have more than…"). */
function plainSentence(field: string, keyword: string | undefined, params: Record<string, unknown>): string | null {
  const limit = params.limit;
  if (typeof limit === "number") {
    const characters = `character${limit === 1 ? "" : "s"}`;
    const items = `item${limit === 1 ? "" : "s"}`;
    switch (keyword) {
      case "maxLength":
        return `${field} must be at most ${limit} ${characters} long`;
      case "minLength":
        return limit === 1 ? `${field} must not be empty` : `${field} must be at least ${limit} ${characters} long`;
      case "maximum":
        return `${field} must be at most ${limit}`;
      case "minimum":
        return `${field} must be at least ${limit}`;
      case "maxItems":
        return `${field} must have at most ${limit} ${items}`;
      case "minItems":
        return `${field} must have at least ${limit} ${items}`;
    }
  }
  if (keyword === "type" && typeof params.type === "string") {
    const kind = params.type.split(",")[0]!;
    return `${field} must be ${kind === "integer" ? "a whole number" : kind === "array" ? "a list" : `a ${kind}`}`;
  }
  if (keyword === "uniqueItems") return `${field} must not list the same item twice`;
  return null;
}

function join(path: string, member: string): string {
  return path === "" ? member : `${path}.${member}`;
}
