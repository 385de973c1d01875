import type * as TypeBox from "typebox";

/**
 * The JSON Schema builders the routes use, with TypeBox's signatures (so `Static` and fastify's type
 * provider infer the same types) but none of its code at run time: TypeBox 1.x is 370 modules that
 * took about 200 ms of every daemon start to load. Each builder makes the same JSON as TypeBox's
 * (`test/unit/api/json-schema.test.ts` compares them); TypeBox's hidden `~kind` markers are left out,
 * as nothing reads them at run time.
 */
type Builders = typeof TypeBox.Type;
type Schema = Record<string, unknown>;
type Options = Record<string, unknown> | undefined;

/** Properties made optional by `Optional`: an object's `required` leaves them out. */
const optional = new WeakSet<object>();

function object(properties: Record<string, Schema>, options?: Options): Schema {
  const required = Object.keys(properties).filter((name) => !optional.has(properties[name]!));
  return { type: "object", ...(required.length > 0 ? { required } : {}), properties, ...options };
}

function optionalOf(schema: Schema): Schema {
  const copy = { ...schema };
  optional.add(copy);
  return copy;
}

function literal(value: string | number | boolean, options?: Options): Schema {
  return { type: typeof value, const: value, ...options };
}

/** A record keyed by any string (the only key the routes use). */
function record(_key: Schema, value: Schema, options?: Options): Schema {
  return { type: "object", patternProperties: { "^.*$": value }, ...options };
}

export const Type = {
  String: ((options?: Options) => ({ type: "string", ...options })) as Builders["String"],
  Integer: ((options?: Options) => ({ type: "integer", ...options })) as Builders["Integer"],
  Boolean: ((options?: Options) => ({ type: "boolean", ...options })) as Builders["Boolean"],
  Null: ((options?: Options) => ({ type: "null", ...options })) as Builders["Null"],
  Unknown: ((options?: Options) => ({ ...options })) as unknown as Builders["Unknown"],
  Unsafe: ((schema: Schema) => ({ ...schema })) as unknown as Builders["Unsafe"],
  Literal: literal as unknown as Builders["Literal"],
  Array: ((items: Schema, options?: Options) => ({ type: "array", items, ...options })) as unknown as Builders["Array"],
  Union: ((anyOf: Schema[], options?: Options) => ({ anyOf, ...options })) as unknown as Builders["Union"],
  Object: object as unknown as Builders["Object"],
  Optional: optionalOf as unknown as Builders["Optional"],
  Record: record as unknown as Builders["Record"],
};
