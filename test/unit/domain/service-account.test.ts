import { describe, expect, it } from "vitest";
import { ConflictError, InvalidValueError, NotFoundError } from "../../../src/domain/errors.js";
import type { CreateServiceAccount, UpdateServiceAccount } from "../../../src/domain/commands.js";
import type { Role } from "../../../src/domain/rules.js";
import { accountCreated, command, fact, HASH_0, KEY_ID, T0, T1 } from "./fixtures.js";
import { given } from "./given.js";

const defaults: CreateServiceAccount["data"] = {
  name: "billing-worker",
  description: "Bills customers",
  roles: ["verifier"],
  active: true,
};
const create = (data: Partial<CreateServiceAccount["data"]> = {}) =>
  command("CreateServiceAccount", { ...defaults, ...data }, { now: T0 });
const created = (data: Partial<CreateServiceAccount["data"]> = {}) => fact("ServiceAccountCreated", T0, { ...defaults, ...data });

describe("CreateServiceAccount", () => {
  it("creates the account at the metadata's time", () => {
    given([])
      .when(create())
      .then([
        {
          type: "ServiceAccountCreated",
          accountId: "sa_01JABCDEFGHJKMNPQRSTVWXYZ0",
          occurredAt: "2026-01-01T00:00:00.000Z",
          data: { name: "billing-worker", description: "Bills customers", roles: ["verifier"], active: true },
        },
      ]);
  });

  it("creates the account and its first key in one decision", () => {
    const initialKey = { keyId: KEY_ID, name: "default", secretHash: HASH_0, hint: "kl_…" };
    given([])
      .when(create({ initialKey }))
      .then([
        created(),
        fact("ApiKeyCreated", T0, {
          keyId: KEY_ID,
          name: "default",
          description: "",
          expiresAt: null,
          secretHash: HASH_0,
          hint: "kl_…",
        }),
      ]);
  });

  it("refuses a first key whose name breaks the naming rule", () => {
    const error = given([])
      .when(create({ initialKey: { keyId: KEY_ID, name: "bad name", secretHash: HASH_0, hint: "kl_…" } }))
      .thenThrows(InvalidValueError);
    expect(error.field).toBe("apiKey.name");
  });

  it("can create an inactive account", () => {
    given([])
      .when(create({ active: false }))
      .then([created({ active: false })]);
  });

  it("stores roles sorted and without duplicates", () => {
    given([])
      .when(create({ roles: ["verifier", "admin", "verifier", "auditor", "admin"] }))
      .then([created({ roles: ["admin", "auditor", "verifier"] })]);
  });

  it.each([
    ["a single character", "a"],
    ["64 characters", "a".repeat(64)],
    ["dots, dashes and underscores after the first character", "9.billing_worker-2"],
    ["a lowercase id lookalike", "sa_01jabcdefghjkmnpqrstvwxyz0"],
  ])("accepts a name of %s", (_, name) => {
    given([])
      .when(create({ name }))
      .then([created({ name })]);
  });

  it.each([
    ["empty", ""],
    ["65 characters long", "a".repeat(65)],
    ["starting with '-'", "-billing"],
    ["starting with '_'", "_billing"],
    ["starting with '.'", ".billing"],
    ["containing a space", "billing worker"],
    ["containing a non-ASCII letter", "bïlling"],
  ])("refuses a name that is %s", (_, name) => {
    const error = given([]).when(create({ name })).thenThrows(InvalidValueError, "name must be");
    expect(error.field).toBe("name");
  });

  it.each([
    ["an account id", "sa_01JABCDEFGHJKMNPQRSTVWXYZ0"],
    ["a key id", "key_01JABCDEFGHJKMNPQRSTVWXYZ1"],
  ])("refuses a name that has the form of %s", (_, name) => {
    const error = given([]).when(create({ name })).thenThrows(InvalidValueError, "form of an id");
    expect(error.field).toBe("name");
  });

  it("accepts a description of 1000 characters and refuses 1001", () => {
    const description = "d".repeat(1000);
    given([])
      .when(create({ description }))
      .then([created({ description })]);
    const error = given([])
      .when(create({ description: "d".repeat(1001) }))
      .thenThrows(InvalidValueError, "at most 1000");
    expect(error.field).toBe("description");
  });

  it("refuses an unknown role", () => {
    const error = given([])
      .when(create({ roles: ["verifier", "superuser" as Role] }))
      .thenThrows(InvalidValueError, "roles must contain only");
    expect(error.field).toBe("roles");
  });

  it("refuses to create an account that already exists", () => {
    given([accountCreated]).when(create()).thenThrows(ConflictError, "already exists");
  });

  it("refuses to create again an account that was deleted", () => {
    given([accountCreated, fact("ServiceAccountDeleted", T1, {})])
      .when(create())
      .thenThrows(ConflictError);
  });
});

describe("UpdateServiceAccount", () => {
  const current = accountCreated.data;
  const update = (data: UpdateServiceAccount["data"]) => command("UpdateServiceAccount", data);

  it("emits only the fields that change", () => {
    given([accountCreated])
      .when(update({ name: "billing-worker", description: "Bills and refunds", roles: ["verifier", "admin"] }))
      .then([fact("ServiceAccountUpdated", T1, { description: "Bills and refunds" })]);
  });

  it("emits a new name and normalized roles", () => {
    given([accountCreated])
      .when(update({ name: "billing", roles: ["verifier", "auditor", "auditor"] }))
      .then([fact("ServiceAccountUpdated", T1, { name: "billing", roles: ["auditor", "verifier"], epoch: 1 })]);
  });

  it.each([
    ["an empty command", {}],
    ["the current values", { name: "billing-worker", description: "Bills customers", roles: current.roles }],
    ["the current roles in another order, repeated", { roles: ["verifier", "admin", "verifier"] as Role[] }],
    ["active: true on an active account", { active: true }],
  ])("appends nothing for %s", (_, data) => {
    given([accountCreated]).when(update(data)).thenNothing();
  });

  it("validates a changed name, description and roles", () => {
    expect(
      given([accountCreated])
        .when(update({ name: "-x" }))
        .thenThrows(InvalidValueError).field,
    ).toBe("name");
    expect(
      given([accountCreated])
        .when(update({ description: "d".repeat(1001) }))
        .thenThrows(InvalidValueError).field,
    ).toBe("description");
    expect(
      given([accountCreated])
        .when(update({ roles: ["root" as Role] }))
        .thenThrows(InvalidValueError).field,
    ).toBe("roles");
  });

  it("emits ServiceAccountDeactivated before ServiceAccountUpdated for active: false", () => {
    given([accountCreated])
      .when(update({ description: "Retired", active: false }))
      .then([fact("ServiceAccountDeactivated", T1, { epoch: 1 }), fact("ServiceAccountUpdated", T1, { description: "Retired" })]);
  });

  it("emits ServiceAccountActivated after ServiceAccountUpdated for active: true", () => {
    given([accountCreated, fact("ServiceAccountDeactivated", T0, {})])
      .when(update({ description: "Back", active: true }))
      .then([fact("ServiceAccountUpdated", T1, { description: "Back" }), fact("ServiceAccountActivated", T1, {})]);
  });

  it("appends nothing for active: false on an inactive account", () => {
    given([accountCreated, fact("ServiceAccountDeactivated", T0, {})])
      .when(update({ active: false }))
      .thenNothing();
  });

  it("refuses a deleted account", () => {
    given([accountCreated, fact("ServiceAccountDeleted", T0, {})])
      .when(update({ description: "x" }))
      .thenThrows(NotFoundError, "service account not found");
  });

  it("refuses an account that does not exist", () => {
    given([])
      .when(update({ description: "x" }))
      .thenThrows(NotFoundError);
  });
});
