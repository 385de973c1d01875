import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../../src/domain/events.js";
import { InvalidValueError, NotFoundError } from "../../../src/domain/errors.js";
import { accountCreated, command, DEADLINE, fact, HASH_1, HASH_2, KEY_ID, T1, T2, T3, withKey } from "./fixtures.js";
import { given } from "./given.js";

const rotate = (retainSeconds: number, now = T2, secretHash = HASH_1) =>
  command("RotateApiKey", { keyId: KEY_ID, secretHash, hint: "kl_…new", retainSeconds }, { now });
const rotated = (generation: number, retainedUntil: string | null, at = T2, secretHash = HASH_1) =>
  fact("ApiKeyRotated", at, { keyId: KEY_ID, secretHash, hint: "kl_…new", generation, retainedUntil });
/** Rotated at T2 to generation 1, keeping generation 0 for an hour. */
const rotatedKeeping: readonly DomainEvent[] = [...withKey, rotated(1, DEADLINE)];

describe("RotateApiKey", () => {
  it("with retainSeconds 0 retains nothing", () => {
    given(withKey)
      .when(rotate(0))
      .then([rotated(1, null)]);
  });

  it("with retainSeconds N retains the old secret until now + N seconds", () => {
    given(withKey)
      .when(rotate(3600))
      .then([rotated(1, DEADLINE)]);
    given(withKey)
      .when(rotate(1))
      .then([rotated(1, "2026-01-03T00:00:01.000Z")]);
    given(withKey)
      .when(rotate(2_592_000))
      .then([rotated(1, "2026-02-02T00:00:00.000Z")]);
  });

  it("increments the generation on every rotation", () => {
    const history = [...withKey, rotated(1, null)];
    given(history)
      .when(rotate(0, T3, HASH_2))
      .then([rotated(2, null, T3, HASH_2)]);
  });

  it("ends a pending retention as superseded before rotating again", () => {
    const during = "2026-01-03T00:30:00.000Z";
    given(rotatedKeeping)
      .when(rotate(60, during, HASH_2))
      .then([
        fact("ApiKeyRetentionExpired", during, { keyId: KEY_ID, generation: 0, reason: "superseded" }),
        rotated(2, "2026-01-03T00:31:00.000Z", during, HASH_2),
      ]);
  });

  it("supersedes a retention that is past its deadline but not yet closed by an event", () => {
    given(rotatedKeeping)
      .when(rotate(0, T3, HASH_2))
      .then([
        fact("ApiKeyRetentionExpired", T3, { keyId: KEY_ID, generation: 0, reason: "superseded" }),
        rotated(2, null, T3, HASH_2),
      ]);
  });

  it("supersedes nothing once the retention is closed or when nothing was retained", () => {
    const closed = fact("ApiKeyRetentionExpired", DEADLINE, { keyId: KEY_ID, generation: 0, reason: "deadline" });
    given([...rotatedKeeping, closed])
      .when(rotate(0, T3, HASH_2))
      .then([rotated(2, null, T3, HASH_2)]);
    given([...withKey, rotated(1, null)])
      .when(rotate(0, T3, HASH_2))
      .then([rotated(2, null, T3, HASH_2)]);
  });

  it("refuses a deleted or unknown key, and a deleted account", () => {
    given([...withKey, fact("ApiKeyDeleted", T1, { keyId: KEY_ID })])
      .when(rotate(0))
      .thenThrows(NotFoundError, "API key not found");
    given([accountCreated]).when(rotate(0)).thenThrows(NotFoundError, "API key not found");
    given([...withKey, fact("ServiceAccountDeleted", T1, {})])
      .when(rotate(0))
      .thenThrows(NotFoundError);
  });

  it.each([-1, 2_592_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses retainSeconds %s", (retainSeconds) => {
    const error = given(withKey).when(rotate(retainSeconds)).thenThrows(InvalidValueError, "retainSeconds must be");
    expect(error.field).toBe("retainSeconds");
  });
});

describe("ExpireRetention", () => {
  const expire = (now: string, generation = 0) => command("ExpireRetention", { keyId: KEY_ID, generation }, { now });
  const expiredByDeadline = (at: string) =>
    fact("ApiKeyRetentionExpired", at, { keyId: KEY_ID, generation: 0, reason: "deadline" });

  it("closes a retention at its deadline exactly once", () => {
    const appended = given(rotatedKeeping)
      .when(expire(DEADLINE))
      .then([expiredByDeadline(DEADLINE)]);
    given([...rotatedKeeping, ...appended])
      .when(expire(DEADLINE))
      .thenNothing();
  });

  it("closes a retention after its deadline exactly once", () => {
    const appended = given(rotatedKeeping)
      .when(expire(T3))
      .then([expiredByDeadline(T3)]);
    given([...rotatedKeeping, ...appended])
      .when(expire(T3))
      .thenNothing();
  });

  it("appends nothing before the deadline", () => {
    given(rotatedKeeping).when(expire("2026-01-03T00:59:59.999Z")).thenNothing();
  });

  it("appends nothing for another generation", () => {
    given(rotatedKeeping).when(expire(T3, 1)).thenNothing();
  });

  it("appends nothing for a retention already superseded by a newer rotation", () => {
    const superseded = fact("ApiKeyRetentionExpired", T2, { keyId: KEY_ID, generation: 0, reason: "superseded" });
    given([...rotatedKeeping, superseded, rotated(2, "2026-01-05T00:00:00.000Z", T3, HASH_2)])
      .when(expire(T3, 0))
      .thenNothing();
  });

  it("appends nothing when nothing was retained", () => {
    given([...withKey, rotated(1, null)])
      .when(expire(T3))
      .thenNothing();
    given(withKey).when(expire(T3)).thenNothing();
  });

  it("appends nothing once the key or the account is deleted", () => {
    given([...rotatedKeeping, fact("ApiKeyDeleted", T2, { keyId: KEY_ID })])
      .when(expire(T3))
      .thenNothing();
    given([...rotatedKeeping, fact("ServiceAccountDeleted", T2, {})])
      .when(expire(T3))
      .thenNothing();
  });

  it("appends nothing for an unknown key or account, without throwing", () => {
    given([accountCreated]).when(expire(T3)).thenNothing();
    given([]).when(expire(T3)).thenNothing();
  });
});
