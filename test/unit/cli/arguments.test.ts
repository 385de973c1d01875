import { describe, expect, it } from "vitest";
import { normalizeArgs } from "../../../src/cli/program.js";
import { UsageError } from "../../../src/cli/usage-error.js";

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

  it("takes the first word as the account even when it is named like a verb", () => {
    expect(normalizeArgs(["sa", "api-key", "delete", "create", "k1"])).toEqual(["sa", "api-key", "create", "delete", "k1"]);
    expect(normalizeArgs(["sa", "api-key", "list", "list"])).toEqual(["sa", "api-key", "list", "list"]);
  });

  it("answers a missing or unknown verb with a usage error naming it", () => {
    expect(() => normalizeArgs(["sa", "api-key", "ci-runner", "frob"])).toThrow(UsageError);
    expect(() => normalizeArgs(["sa", "api-key", "ci-runner", "frob"])).toThrow(/frob/);
    expect(() => normalizeArgs(["sa", "api-key", "ci-runner"])).toThrow(/needs a verb/);
  });

  it("leaves everything else alone", () => {
    expect(normalizeArgs(["service-account", "list"])).toEqual(["service-account", "list"]);
    expect(normalizeArgs(["service-account", "api-key", "--help"])).toEqual(["service-account", "api-key", "--help"]);
  });
});
