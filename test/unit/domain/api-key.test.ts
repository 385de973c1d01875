import { describe, expect, it } from "vitest";
import type { CreateApiKey, UpdateApiKey } from "../../../src/domain/commands.js";
import { ConflictError, InvalidValueError, NotFoundError } from "../../../src/domain/errors.js";
import { accountCreated, command, fact, HASH_1, KEY_ID, keyCreated, OTHER_KEY_ID, T0, T1, T2, withKey } from "./fixtures.js";
import { given } from "./given.js";

const NEW_KEY = "key_01JABCDEFGHJKMNPQRSTVWXYZ3";
const newKey: CreateApiKey["data"] = {
  keyId: NEW_KEY,
  name: "deploy",
  description: "CI deploys",
  expiresAt: null,
  secretHash: HASH_1,
  hint: "kl_01JABCDEFGHJKMNPQRSTVWXYZ3_abcd…",
};
const createKey = (data: Partial<CreateApiKey["data"]> = {}) => command("CreateApiKey", { ...newKey, ...data }, { now: T2 });
const updateKey = (data: Omit<UpdateApiKey["data"], "keyId">) => command("UpdateApiKey", { keyId: KEY_ID, ...data }, { now: T2 });
const keyDeleted = fact("ApiKeyDeleted", T1, { keyId: KEY_ID });
const keyDeactivated = fact("ApiKeyDeactivated", T1, { keyId: KEY_ID });
const accountDeleted = fact("ServiceAccountDeleted", T1, {});

describe("CreateApiKey", () => {
  it("creates a key with the given hash and hint", () => {
    given(withKey)
      .when(createKey())
      .then([fact("ApiKeyCreated", T2, newKey)]);
  });

  it("accepts an expiry in the future", () => {
    const expiresAt = "2027-01-01T00:00:00.000Z";
    given(withKey)
      .when(createKey({ expiresAt }))
      .then([fact("ApiKeyCreated", T2, { ...newKey, expiresAt })]);
  });

  it.each([
    ["in the past", T0],
    ["equal to now", T2],
  ])("refuses an expiry %s", (_, expiresAt) => {
    const error = given(withKey).when(createKey({ expiresAt })).thenThrows(InvalidValueError, "in the future");
    expect(error.field).toBe("expiresAt");
  });

  it("refuses an expiry that is not a date", () => {
    const error = given(withKey)
      .when(createKey({ expiresAt: "tomorrow" }))
      .thenThrows(InvalidValueError, "ISO-8601");
    expect(error.field).toBe("expiresAt");
  });

  it("refuses an invalid name or a too long description", () => {
    expect(
      given(withKey)
        .when(createKey({ name: "my key" }))
        .thenThrows(InvalidValueError).field,
    ).toBe("name");
    expect(
      given(withKey)
        .when(createKey({ name: NEW_KEY }))
        .thenThrows(InvalidValueError).field,
    ).toBe("name");
    const long = createKey({ description: "d".repeat(1001) });
    expect(given(withKey).when(long).thenThrows(InvalidValueError).field).toBe("description");
  });

  it("refuses a deleted or missing account", () => {
    given([...withKey, accountDeleted])
      .when(createKey())
      .thenThrows(NotFoundError, "service account not found");
    given([]).when(createKey()).thenThrows(NotFoundError);
  });

  it("refuses a name already used by a live key of the account", () => {
    given(withKey)
      .when(createKey({ name: "primary" }))
      .thenThrows(ConflictError, 'named "primary" already exists');
  });

  it("accepts the name of a deleted key", () => {
    given([...withKey, keyDeleted])
      .when(createKey({ name: "primary" }))
      .then([fact("ApiKeyCreated", T2, { ...newKey, name: "primary" })]);
  });

  it("refuses a key id that is already taken, even by a deleted key", () => {
    given(withKey)
      .when(createKey({ keyId: KEY_ID }))
      .thenThrows(ConflictError, "API key already exists");
    given([...withKey, keyDeleted])
      .when(createKey({ keyId: KEY_ID }))
      .thenThrows(ConflictError);
  });
});

describe("UpdateApiKey", () => {
  it("emits only the fields that change", () => {
    given(withKey)
      .when(updateKey({ name: "primary", description: "Main key", expiresAt: null }))
      .then([fact("ApiKeyUpdated", T2, { keyId: KEY_ID, description: "Main key" })]);
  });

  it("sets and clears the expiry", () => {
    const expiresAt = "2027-01-01T00:00:00.000Z";
    const appended = given(withKey)
      .when(updateKey({ name: "main", expiresAt }))
      .then([fact("ApiKeyUpdated", T2, { keyId: KEY_ID, name: "main", expiresAt })]);
    given([...withKey, ...appended])
      .when(updateKey({ expiresAt: null }))
      .then([fact("ApiKeyUpdated", T2, { keyId: KEY_ID, expiresAt: null })]);
  });

  it.each([
    ["an empty command", {}],
    ["the current values", { name: "primary", description: "", expiresAt: null }],
    ["active: true on an active key", { active: true }],
  ])("appends nothing for %s", (_, data) => {
    given(withKey).when(updateKey(data)).thenNothing();
  });

  it("refuses the name of another live key, but not of a deleted one", () => {
    const other = keyCreated(OTHER_KEY_ID, "secondary");
    given([...withKey, other])
      .when(updateKey({ name: "secondary" }))
      .thenThrows(ConflictError, "already exists");
    given([...withKey, other, fact("ApiKeyDeleted", T1, { keyId: OTHER_KEY_ID })])
      .when(updateKey({ name: "secondary" }))
      .then([fact("ApiKeyUpdated", T2, { keyId: KEY_ID, name: "secondary" })]);
  });

  it("validates changed values", () => {
    expect(
      given(withKey)
        .when(updateKey({ name: "" }))
        .thenThrows(InvalidValueError).field,
    ).toBe("name");
    const long = updateKey({ description: "d".repeat(1001) });
    expect(given(withKey).when(long).thenThrows(InvalidValueError).field).toBe("description");
    expect(
      given(withKey)
        .when(updateKey({ expiresAt: T1 }))
        .thenThrows(InvalidValueError).field,
    ).toBe("expiresAt");
  });

  it("emits ApiKeyDeactivated before ApiKeyUpdated for active: false", () => {
    given(withKey)
      .when(updateKey({ description: "Paused", active: false }))
      .then([
        fact("ApiKeyDeactivated", T2, { keyId: KEY_ID, epoch: 1 }),
        fact("ApiKeyUpdated", T2, { keyId: KEY_ID, description: "Paused" }),
      ]);
  });

  it("emits ApiKeyActivated after ApiKeyUpdated for active: true", () => {
    given([...withKey, keyDeactivated])
      .when(updateKey({ description: "Back", active: true }))
      .then([fact("ApiKeyUpdated", T2, { keyId: KEY_ID, description: "Back" }), fact("ApiKeyActivated", T2, { keyId: KEY_ID })]);
  });

  it("refuses a deleted or unknown key, and a deleted account", () => {
    const update = updateKey({ description: "x" });
    given([...withKey, keyDeleted])
      .when(update)
      .thenThrows(NotFoundError, "API key not found");
    given([accountCreated]).when(update).thenThrows(NotFoundError, "API key not found");
    given([...withKey, accountDeleted])
      .when(update)
      .thenThrows(NotFoundError, "service account not found");
  });
});
