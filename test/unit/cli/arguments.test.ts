import { describe, expect, it } from "vitest";
import { normalizeArgs } from "../../../src/cli/program.js";

describe("the api-key verbs' argument order", () => {
  it("moves the account of `service-account api-key ACCOUNT VERB` behind the verb", () => {
    expect(normalizeArgs(["service-account", "api-key", "ci", "rotate", "deploy", "--retain", "60"])).toEqual([
      "service-account",
      "api-key",
      "rotate",
      "ci",
      "deploy",
      "--retain",
      "60",
    ]);
    expect(normalizeArgs(["sa", "api-key", "ci", "list", "-o", "json"])).toEqual(["sa", "api-key", "list", "ci", "-o", "json"]);
  });

  it("leaves everything else alone, including an account named like a verb's argument", () => {
    expect(normalizeArgs(["service-account", "list"])).toEqual(["service-account", "list"]);
    expect(normalizeArgs(["service-account", "api-key", "--help"])).toEqual(["service-account", "api-key", "--help"]);
    expect(normalizeArgs(["service-account", "api-key", "create", "ci", "k"])).toEqual([
      "service-account",
      "api-key",
      "create",
      "ci",
      "k",
    ]);
  });
});
