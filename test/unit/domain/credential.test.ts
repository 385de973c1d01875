import { describe, expect, it } from "vitest";
import { checkCredential, generationAccepted } from "../../../src/domain/credential.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import { fold } from "../../../src/domain/evolve.js";
import type { AccountState, KeyState } from "../../../src/domain/state.js";
import { DEADLINE, fact, HASH_0, HASH_1, HASH_2, KEY_ID, T1, T2, T3, withKey } from "./fixtures.js";

const DURING = "2026-01-03T00:30:00.000Z";
const rotated = (generation: number, secretHash: string, retainedUntil: string | null, at = T2) =>
  fact("ApiKeyRotated", at, { keyId: KEY_ID, secretHash, hint: "kl_…", generation, retainedUntil });
const retentionExpired = fact("ApiKeyRetentionExpired", DEADLINE, { keyId: KEY_ID, generation: 0, reason: "deadline" });
/** Rotated at T2 to generation 1 (HASH_1), keeping generation 0 (HASH_0) until DEADLINE. */
const keeping: readonly DomainEvent[] = [...withKey, rotated(1, HASH_1, DEADLINE)];
/** Rotated at T2 to generation 1 (HASH_1), dropping generation 0 (HASH_0) at once. */
const dropping: readonly DomainEvent[] = [...withKey, rotated(1, HASH_1, null)];

function stateOf(events: readonly DomainEvent[]): { key: KeyState; account: AccountState } {
  const account = fold(events);
  const key = account?.keys[KEY_ID];
  if (account === null || key === undefined) throw new Error("history has no key");
  return { key, account };
}
const check = (events: readonly DomainEvent[], presented: string, now: string) => {
  const { key, account } = stateOf(events);
  return checkCredential(presented, key, account, now);
};
const accepted = (events: readonly DomainEvent[], generation: number, now: string) =>
  generationAccepted(stateOf(events).key, generation, now);
const failure = (code: string) => ({ valid: false, code });

describe("checkCredential", () => {
  it("accepts the current secret", () => {
    expect(check(withKey, HASH_0, T2)).toEqual({ valid: true, credential: "current" });
    expect(check(keeping, HASH_1, DURING)).toEqual({ valid: true, credential: "current" });
  });

  it("accepts the previous secret before retainedUntil", () => {
    expect(check(keeping, HASH_0, T2)).toEqual({ valid: true, credential: "retained" });
    expect(check(keeping, HASH_0, "2026-01-03T00:59:59.999Z")).toEqual({ valid: true, credential: "retained" });
  });

  it("refuses the previous secret at and after retainedUntil, before any RetentionExpired event", () => {
    expect(check(keeping, HASH_0, DEADLINE)).toEqual(failure("retention_expired"));
    expect(check(keeping, HASH_0, T3)).toEqual(failure("retention_expired"));
  });

  it("refuses the previous secret once RetentionExpired is recorded, whatever the clock says", () => {
    expect(check([...keeping, retentionExpired], HASH_0, T3)).toEqual(failure("retention_expired"));
    expect(check([...keeping, retentionExpired], HASH_0, DURING)).toEqual(failure("retention_expired"));
  });

  it("refuses the old secret at once after a rotation that retains nothing", () => {
    expect(check(dropping, HASH_0, T2)).toEqual(failure("retention_expired"));
    expect(check(dropping, HASH_1, T2)).toEqual({ valid: true, credential: "current" });
  });

  it("does not know a secret two generations old", () => {
    const twice = [...dropping, rotated(2, HASH_2, null, T3)];
    expect(check(twice, HASH_0, T3)).toEqual(failure("not_found"));
  });

  it("answers not_found for a wrong secret, an unknown key or an unknown account", () => {
    const { key, account } = stateOf(withKey);
    expect(check(withKey, HASH_1, T2)).toEqual(failure("not_found"));
    expect(checkCredential(HASH_0, undefined, account, T2)).toEqual(failure("not_found"));
    expect(checkCredential(HASH_0, key, undefined, T2)).toEqual(failure("not_found"));
  });

  it("answers deleted for a deleted key or a deleted account, but only to the right secret", () => {
    const keyDeleted = [...withKey, fact("ApiKeyDeleted", T1, { keyId: KEY_ID })];
    const accountDeleted = [...withKey, fact("ServiceAccountDeleted", T1, {})];
    expect(check(keyDeleted, HASH_0, T2)).toEqual(failure("deleted"));
    expect(check(accountDeleted, HASH_0, T2)).toEqual(failure("deleted"));
    expect(check(keyDeleted, HASH_1, T2)).toEqual(failure("not_found"));
  });

  it("answers inactive_account, then inactive_key", () => {
    const accountOff = [...withKey, fact("ServiceAccountDeactivated", T1, {})];
    const keyOff = [...withKey, fact("ApiKeyDeactivated", T1, { keyId: KEY_ID })];
    expect(check(accountOff, HASH_0, T2)).toEqual(failure("inactive_account"));
    expect(check(keyOff, HASH_0, T2)).toEqual(failure("inactive_key"));
    const bothOff = [...keyOff, fact("ServiceAccountDeactivated", T1, {})];
    expect(check(bothOff, HASH_0, T2)).toEqual(failure("inactive_account"));
  });

  it("answers expired from expiresAt on, for the current and the retained secret", () => {
    const expiring = [...keeping, fact("ApiKeyUpdated", T2, { keyId: KEY_ID, expiresAt: DURING })];
    expect(check(expiring, HASH_1, "2026-01-03T00:29:59.999Z")).toEqual({ valid: true, credential: "current" });
    expect(check(expiring, HASH_1, DURING)).toEqual(failure("expired"));
    expect(check(expiring, HASH_0, DURING)).toEqual(failure("expired"));
  });
});

describe("generationAccepted", () => {
  it("accepts the current generation", () => {
    expect(accepted(withKey, 0, T2)).toBe("current");
    expect(accepted(keeping, 1, T3)).toBe("current");
  });

  it("accepts the previous generation before retainedUntil only", () => {
    expect(accepted(keeping, 0, DURING)).toBe("retained");
    expect(accepted(keeping, 0, DEADLINE)).toBeNull();
    expect(accepted(keeping, 0, T3)).toBeNull();
  });

  it("refuses the previous generation once RetentionExpired is recorded", () => {
    expect(accepted([...keeping, retentionExpired], 0, DURING)).toBeNull();
  });

  it("refuses the previous generation after a rotation that retains nothing", () => {
    expect(accepted(dropping, 0, T2)).toBeNull();
  });

  it("refuses generations that are neither current nor previous", () => {
    expect(accepted(withKey, 1, T2)).toBeNull();
    expect(accepted([...keeping, rotated(2, HASH_2, "2026-01-05T00:00:00.000Z", T3)], 0, T3)).toBeNull();
  });
});
