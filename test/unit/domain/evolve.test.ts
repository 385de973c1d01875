import { describe, expect, it } from "vitest";
import { evolve, fold } from "../../../src/domain/evolve.js";
import { initialState, type AccountState, type KeyState } from "../../../src/domain/state.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import {
  ACCOUNT_ID,
  accountCreated,
  DEADLINE,
  fact,
  HASH_0,
  HASH_1,
  HASH_2,
  KEY_ID,
  keyCreated,
  T0,
  T1,
  T2,
  T3,
} from "./fixtures.js";

const rotated = (generation: number, secretHash: string, retainedUntil: string | null, at: string) =>
  fact("ApiKeyRotated", at, { keyId: KEY_ID, secretHash, hint: `hint ${generation}`, generation, retainedUntil });

function account(events: readonly DomainEvent[]): AccountState {
  const state = fold(events, initialState());
  if (state === null) throw new Error("no account");
  return state;
}
function key(events: readonly DomainEvent[]): KeyState {
  const found = account(events).keys[KEY_ID];
  if (found === undefined) throw new Error("no key");
  return found;
}

describe("evolve: service accounts", () => {
  it("starts from null", () => {
    expect(initialState()).toBeNull();
  });

  it("creates the account from ServiceAccountCreated", () => {
    expect(evolve(initialState(), accountCreated)).toEqual({
      id: ACCOUNT_ID,
      name: "billing-worker",
      description: "Bills customers",
      roles: ["admin", "verifier"],
      active: true,
      deleted: false,
      createdAt: T0,
      updatedAt: T0,
      version: 1,
      epoch: 0,
      keys: {},
    });
  });

  it("counts every event in version and takes updatedAt from the last one", () => {
    const state = account([
      accountCreated,
      fact("ServiceAccountUpdated", T1, { description: "Bills and refunds" }),
      fact("ServiceAccountDeactivated", T2, {}),
      keyCreated(KEY_ID, "primary", T2),
      fact("ApiKeyDeactivated", T3, { keyId: KEY_ID }),
    ]);
    expect(state.version).toBe(5);
    expect(state.createdAt).toBe(T0);
    expect(state.updatedAt).toBe(T3);
    expect(state.description).toBe("Bills and refunds");
    expect(state.name).toBe("billing-worker");
    expect(state.active).toBe(false);
  });

  it("applies only the fields an update carries", () => {
    const state = account([accountCreated, fact("ServiceAccountUpdated", T1, { roles: ["auditor"] })]);
    expect(state).toMatchObject({ name: "billing-worker", description: "Bills customers", roles: ["auditor"] });
  });

  it("follows deactivation, activation and deletion", () => {
    const deactivated = [accountCreated, fact("ServiceAccountDeactivated", T1, {})];
    expect(account(deactivated).active).toBe(false);
    const activated = [...deactivated, fact("ServiceAccountActivated", T2, {})];
    expect(account(activated).active).toBe(true);
    expect(account([...activated, fact("ServiceAccountDeleted", T3, {})])).toMatchObject({
      deleted: true,
      active: false,
      version: 4,
      updatedAt: T3,
    });
  });

  it("does not change the state it is given", () => {
    const before = account([accountCreated]);
    const snapshot = structuredClone(before);
    evolve(before, keyCreated());
    evolve(before, fact("ServiceAccountDeleted", T1, {}));
    expect(before).toEqual(snapshot);
  });

  it("throws on an event before the account exists, or for an unknown key", () => {
    expect(() => evolve(null, fact("ServiceAccountDeleted", T1, {}))).toThrow("before ServiceAccountCreated");
    expect(() => fold([accountCreated, fact("ApiKeyDeleted", T1, { keyId: KEY_ID })])).toThrow("unknown key");
  });
});

describe("evolve: API keys", () => {
  it("creates a key at generation 0, active, with nothing retained", () => {
    expect(key([accountCreated, keyCreated()])).toEqual({
      id: KEY_ID,
      name: "primary",
      description: "",
      active: true,
      deleted: false,
      secretHash: HASH_0,
      hint: "kl_0…",
      generation: 0,
      previous: null,
      expiresAt: null,
      createdAt: T1,
      updatedAt: T1,
      lastRotatedAt: null,
      epoch: 0,
    });
  });

  it("counts the token epochs of a key and an account: each deactivation and deletion moves them on, nothing moves them back", () => {
    const deactivated = [accountCreated, keyCreated(), fact("ApiKeyDeactivated", T2, { keyId: KEY_ID })];
    expect(key(deactivated).epoch).toBe(1);
    const reactivated = [...deactivated, fact("ApiKeyActivated", T3, { keyId: KEY_ID })];
    expect(key(reactivated).epoch).toBe(1);
    expect(key([...reactivated, fact("ApiKeyDeactivated", T3, { keyId: KEY_ID })]).epoch).toBe(2);
    expect(key([accountCreated, keyCreated(), fact("ApiKeyDeleted", T3, { keyId: KEY_ID })]).epoch).toBe(1);
    expect(account([accountCreated, fact("ServiceAccountDeactivated", T2, {})]).epoch).toBe(1);
    expect(
      account([accountCreated, fact("ServiceAccountDeactivated", T2, {}), fact("ServiceAccountActivated", T3, {})]).epoch,
    ).toBe(1);
    expect(account([accountCreated, fact("ServiceAccountDeleted", T2, {})]).epoch).toBe(1);
  });

  it("moves the account's token epoch on when an update takes a role away, not when it adds one or renames", () => {
    // The account was created with the roles admin and verifier.
    expect(account([accountCreated, fact("ServiceAccountUpdated", T2, { roles: ["admin", "auditor", "verifier"] })]).epoch).toBe(
      0,
    );
    expect(account([accountCreated, fact("ServiceAccountUpdated", T2, { name: "renamed" })]).epoch).toBe(0);
    expect(account([accountCreated, fact("ServiceAccountUpdated", T2, { roles: ["verifier"] })]).epoch).toBe(1);
  });

  it("applies key updates, deactivation, activation and deletion, and dates them", () => {
    const history = [accountCreated, keyCreated()];
    const updated = [...history, fact("ApiKeyUpdated", T2, { keyId: KEY_ID, name: "main", expiresAt: T3 })];
    expect(key(updated)).toMatchObject({ name: "main", description: "", expiresAt: T3, updatedAt: T2, createdAt: T1 });
    const off = [...updated, fact("ApiKeyDeactivated", T3, { keyId: KEY_ID })];
    expect(key(off)).toMatchObject({ active: false, updatedAt: T3 });
    expect(key([...off, fact("ApiKeyActivated", T3, { keyId: KEY_ID })]).active).toBe(true);
    expect(key([...off, fact("ApiKeyDeleted", T3, { keyId: KEY_ID })])).toMatchObject({ deleted: true, active: false });
  });

  it("keeps the old secret as previous, retained until the deadline, after a rotation with retention", () => {
    const rotatedKey = key([accountCreated, keyCreated(), rotated(1, HASH_1, DEADLINE, T2)]);
    expect(rotatedKey).toMatchObject({ secretHash: HASH_1, hint: "hint 1", generation: 1, lastRotatedAt: T2 });
    expect(rotatedKey.previous).toEqual({ secretHash: HASH_0, generation: 0, retainedUntil: DEADLINE, expired: false });
  });

  it("marks the previous secret expired at the rotation time when nothing is retained", () => {
    const rotatedKey = key([accountCreated, keyCreated(), rotated(1, HASH_1, null, T2)]);
    expect(rotatedKey.previous).toEqual({ secretHash: HASH_0, generation: 0, retainedUntil: T2, expired: true });
  });

  it("marks the previous secret expired on ApiKeyRetentionExpired, and keeps the rest", () => {
    const history = [accountCreated, keyCreated(), rotated(1, HASH_1, DEADLINE, T2)];
    const expired = fact("ApiKeyRetentionExpired", DEADLINE, { keyId: KEY_ID, generation: 0, reason: "deadline" });
    const closed = key([...history, expired]);
    expect(closed.previous).toEqual({ secretHash: HASH_0, generation: 0, retainedUntil: DEADLINE, expired: true });
    expect(closed).toMatchObject({ secretHash: HASH_1, generation: 1, updatedAt: DEADLINE });
  });

  it("replaces the previous secret on each rotation", () => {
    const superseded = fact("ApiKeyRetentionExpired", T3, { keyId: KEY_ID, generation: 0, reason: "superseded" });
    const twice = key([
      accountCreated,
      keyCreated(),
      rotated(1, HASH_1, DEADLINE, T2),
      superseded,
      rotated(2, HASH_2, "2026-01-05T00:00:00.000Z", T3),
    ]);
    expect(twice).toMatchObject({ secretHash: HASH_2, generation: 2, lastRotatedAt: T3 });
    expect(twice.previous).toEqual({
      secretHash: HASH_1,
      generation: 1,
      retainedUntil: "2026-01-05T00:00:00.000Z",
      expired: false,
    });
  });
});
