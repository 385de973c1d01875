/**
 * The routes' schema builders (`src/api/schemas/json-schema.ts`) against TypeBox's own, which they
 * stand in for at run time: the same JSON, key for key and in the same order (fastify compiles the
 * validators and serializers, and @fastify/swagger the OpenAPI document, from it).
 */
import { Type as TypeBox } from "typebox";
import { describe, expect, it } from "vitest";
import { Type } from "../../../src/api/schemas/json-schema.js";

/** As fastify and the OpenAPI document see a schema: its enumerable members, in order. */
const json = (schema: unknown) => JSON.stringify(schema);

describe("the routes' schema builders", () => {
  it("make TypeBox's JSON for each kind of schema, options included", () => {
    const pairs: Array<[unknown, unknown]> = [
      [Type.String(), TypeBox.String()],
      [Type.String({ pattern: "^[a-z]+$", minLength: 1, maxLength: 64 }), TypeBox.String({ pattern: "^[a-z]+$", minLength: 1, maxLength: 64 })],
      [Type.String({ format: "date-time", description: "when" }), TypeBox.String({ format: "date-time", description: "when" })],
      [Type.Integer({ minimum: 0, maximum: 10 }), TypeBox.Integer({ minimum: 0, maximum: 10 })],
      [Type.Boolean(), TypeBox.Boolean()],
      [Type.Null(), TypeBox.Null()],
      [Type.Unknown(), TypeBox.Unknown()],
      [Type.Unknown({ description: "anything" }), TypeBox.Unknown({ description: "anything" })],
      [Type.Unsafe({ type: "string", enum: ["a", "b"] }), TypeBox.Unsafe({ type: "string", enum: ["a", "b"] })],
      [Type.Literal("active"), TypeBox.Literal("active")],
      [Type.Literal(3), TypeBox.Literal(3)],
      [Type.Literal(true, { description: "yes" }), TypeBox.Literal(true, { description: "yes" })],
      [Type.Array(Type.String(), { uniqueItems: true, maxItems: 3 }), TypeBox.Array(TypeBox.String(), { uniqueItems: true, maxItems: 3 })],
      [Type.Union([Type.String(), Type.Null()]), TypeBox.Union([TypeBox.String(), TypeBox.Null()])],
      [Type.Union([Type.Literal("a"), Type.Literal("b")], { description: "a or b" }), TypeBox.Union([TypeBox.Literal("a"), TypeBox.Literal("b")], { description: "a or b" })],
      [Type.Record(Type.String(), Type.Boolean()), TypeBox.Record(TypeBox.String(), TypeBox.Boolean())],
    ];
    for (const [ours, theirs] of pairs) expect(json(ours)).toBe(json(theirs));
  });

  it("list an object's required members, leaving out the optional ones, and take options after them", () => {
    const ours = Type.Object(
      { name: Type.String(), note: Type.Optional(Type.String({ maxLength: 5 })), at: Type.Union([Type.String(), Type.Null()]) },
      { additionalProperties: false },
    );
    const theirs = TypeBox.Object(
      { name: TypeBox.String(), note: TypeBox.Optional(TypeBox.String({ maxLength: 5 })), at: TypeBox.Union([TypeBox.String(), TypeBox.Null()]) },
      { additionalProperties: false },
    );
    expect(json(ours)).toBe(json(theirs));
    expect(ours).toMatchObject({ required: ["name", "at"] });
  });

  it("leave `required` out of an object whose members are all optional, or that has none", () => {
    expect(json(Type.Object({ a: Type.Optional(Type.Integer()) }))).toBe(json(TypeBox.Object({ a: TypeBox.Optional(TypeBox.Integer()) })));
    expect(json(Type.Object({}))).toBe(json(TypeBox.Object({})));
    expect(Type.Object({})).not.toHaveProperty("required");
  });

  it("keep a member optional when its schema is reused by spreading another object's properties", () => {
    const base = Type.Object({ id: Type.String(), hint: Type.Optional(Type.String()) });
    const ours = Type.Object({ ...base.properties, key: Type.String(), nested: Type.Optional(Type.Array(base)) });
    const theirBase = TypeBox.Object({ id: TypeBox.String(), hint: TypeBox.Optional(TypeBox.String()) });
    const theirs = TypeBox.Object({ ...theirBase.properties, key: TypeBox.String(), nested: TypeBox.Optional(TypeBox.Array(theirBase)) });
    expect(json(ours)).toBe(json(theirs));
  });

  it("leave the schema made optional as it was (Optional copies)", () => {
    const name = Type.String();
    Type.Optional(name);
    expect(Type.Object({ name })).toMatchObject({ required: ["name"] });
  });
});
