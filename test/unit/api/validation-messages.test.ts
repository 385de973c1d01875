import { describe, expect, it } from "vitest";
import { describeValidation, validatorCompiler } from "../../../src/api/validation.js";
import { CreateBody as CreateServiceAccountBody } from "../../../src/api/routes/service-accounts.js";

/** The first error of a body the route's own schema refuses, as the API would say it. */
function message(body: unknown): string {
  const validate = validatorCompiler({
    schema: CreateServiceAccountBody,
    httpPart: "body",
    method: "POST",
    url: "/",
  }) as unknown as {
    (value: unknown): boolean;
    errors: Parameters<typeof describeValidation>[0];
  };
  expect(validate(body)).toBe(false);
  return describeValidation(validate.errors, "body");
}

describe("validation errors read as a person would write them", () => {
  it("names the field and the limit, never ajv's 'must NOT have more than'", () => {
    const tooLong = message({ name: "a".repeat(65) });
    expect(tooLong).toMatch(/^name must be/);
    expect(tooLong).not.toMatch(/NOT|must be <=|must be >=/);
    expect(message({ name: "ci", description: "d".repeat(1001) })).toBe("description must be at most 1000 characters long");
    expect(message({ name: "ci", roles: "admin" })).toBe("roles must be a list");
    expect(message({ name: "ci", createApiKey: "yes" })).toBe("createApiKey must be a boolean");
    expect(message({})).toBe("name is required");
  });
});
