import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../../src/domain/events.js";
import { fold } from "../../../src/domain/evolve.js";
import { liveKeys, pendingRetention, retentionInForce, type AccountState } from "../../../src/domain/state.js";
import { DEADLINE, fact, HASH_0, HASH_1, KEY_ID, keyCreated, OTHER_KEY_ID, T1, T2, T3, withKey } from "./fixtures.js";

const keeping: readonly DomainEvent[] = [
  ...withKey,
  fact("ApiKeyRotated", T2, { keyId: KEY_ID, secretHash: HASH_1, hint: "h", generation: 1, retainedUntil: DEADLINE }),
];

function account(events: readonly DomainEvent[]): AccountState {
  const state = fold(events);
  if (state === null) throw new Error("no account");
  return state;
}
const keyOf = (events: readonly DomainEvent[]) => account(events).keys[KEY_ID]!;

describe("retentionInForce", () => {
  it("is the previous secret strictly before its deadline", () => {
    expect(retentionInForce(keyOf(keeping), T2)).toMatchObject({ secretHash: HASH_0, generation: 0 });
    expect(retentionInForce(keyOf(keeping), DEADLINE)).toBeNull();
  });

  it("is null once closed by an event or when nothing was ever retained", () => {
    const closed = fact("ApiKeyRetentionExpired", T2, { keyId: KEY_ID, generation: 0, reason: "deadline" });
    expect(retentionInForce(keyOf([...keeping, closed]), T2)).toBeNull();
    expect(retentionInForce(keyOf(withKey), T2)).toBeNull();
  });
});

describe("pendingRetention", () => {
  it("is the previous secret until an event closes it, whatever the time", () => {
    expect(pendingRetention(keyOf(keeping))).toMatchObject({ generation: 0, retainedUntil: DEADLINE });
    const closed = fact("ApiKeyRetentionExpired", T3, { keyId: KEY_ID, generation: 0, reason: "deadline" });
    expect(pendingRetention(keyOf([...keeping, closed]))).toBeNull();
  });

  it("is null for a deleted key", () => {
    expect(pendingRetention(keyOf([...keeping, fact("ApiKeyDeleted", T3, { keyId: KEY_ID })]))).toBeNull();
  });
});

describe("liveKeys", () => {
  it("lists the keys that are not deleted, inactive ones included", () => {
    const history = [
      ...withKey,
      keyCreated(OTHER_KEY_ID, "secondary"),
      fact("ApiKeyDeactivated", T1, { keyId: OTHER_KEY_ID }),
      fact("ApiKeyDeleted", T2, { keyId: KEY_ID }),
    ];
    expect(liveKeys(account(history)).map((key) => key.id)).toEqual([OTHER_KEY_ID]);
  });
});
