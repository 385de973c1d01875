import { describe, expect, it } from "vitest";
import { evolve, fold } from "../../../src/domain/evolve.js";
import { initialState, type AccountState } from "../../../src/domain/state.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import { historyRecords } from "../../../src/projections/history-records.js";
import { ACCOUNT_ID, accountCreated, fact, KEY_ID, keyCreated, OTHER_KEY_ID, T2, T3 } from "../domain/fixtures.js";

const stateAfter = (events: readonly DomainEvent[]): AccountState => fold(events, initialState())!;
/** A version's sequence as the documented layout writes it: MAX_SAFE_INTEGER − seq in 16 digits. */
const newestFirst = (seq: number): string => String(Number.MAX_SAFE_INTEGER - seq).padStart(16, "0");
const STORED_AT = Date.parse("2026-03-01T10:00:00.123Z");
const keysOf = (puts: ReturnType<typeof historyRecords>): string[] => puts.map((put) => put.key);

describe("the history records of one applied event", () => {
  it("for the account's first event: its fields, when it was born, the name it takes, and where the change happened", () => {
    const after = stateAfter([accountCreated]);
    const puts = historyRecords(null, after, { seq: 7, applied: 3, storedAt: STORED_AT });
    expect(keysOf(puts)).toEqual([
      `hacct!${ACCOUNT_ID}!${newestFirst(7)}`,
      `born!${ACCOUNT_ID}`,
      `hname!billing-worker!${newestFirst(7)}`,
      "hseq!0000000000000007",
    ]);
    const { keys: _keys, ...fields } = after;
    expect(puts[0]!.value).toEqual(fields);
    expect(puts[1]!.value).toBe(7);
    expect(puts[2]!.value).toBe(ACCOUNT_ID);
    expect(puts[3]!.value).toEqual([ACCOUNT_ID, 3, STORED_AT]);
  });

  it("records only the keys the event changed, each as it is after it", () => {
    const before = stateAfter([accountCreated, keyCreated(), keyCreated(OTHER_KEY_ID, "secondary")]);
    const after = evolve(before, fact("ApiKeyUpdated", T2, { keyId: OTHER_KEY_ID, description: "moved" }))!;
    const puts = historyRecords(before, after, { seq: 12, applied: 4, storedAt: STORED_AT });
    expect(keysOf(puts)).toEqual([
      `hacct!${ACCOUNT_ID}!${newestFirst(12)}`,
      `hkey!${ACCOUNT_ID}!${OTHER_KEY_ID}!${newestFirst(12)}`,
      "hseq!0000000000000012",
    ]);
    expect(puts[1]!.value).toEqual(after.keys[OTHER_KEY_ID]);
    expect(keysOf(puts).some((key) => key.includes(KEY_ID))).toBe(false);
  });

  it("on a rename, releases the old name and takes the new one at the same sequence", () => {
    const before = stateAfter([accountCreated]);
    const after = evolve(before, fact("ServiceAccountUpdated", T2, { name: "billing-worker-2" }))!;
    const names = historyRecords(before, after, { seq: 20, applied: 2, storedAt: STORED_AT }).filter((put) =>
      put.key.startsWith("hname!"),
    );
    expect(names).toEqual([
      { type: "put", key: `hname!billing-worker!${newestFirst(20)}`, value: "" },
      { type: "put", key: `hname!billing-worker-2!${newestFirst(20)}`, value: ACCOUNT_ID },
    ]);
  });

  it("on a deletion, releases the name (a deleted account bears none)", () => {
    const before = stateAfter([accountCreated]);
    const after = evolve(before, fact("ServiceAccountDeleted", T3, { epoch: 1 }))!;
    const names = historyRecords(before, after, { seq: 30, applied: 2, storedAt: STORED_AT }).filter((put) =>
      put.key.startsWith("hname!"),
    );
    expect(names).toEqual([{ type: "put", key: `hname!billing-worker!${newestFirst(30)}`, value: "" }]);
  });

  it("writes an account's versions newest first, and its changes in the stream's order", () => {
    const after = stateAfter([accountCreated]);
    const [earlyVersion, , , earlyChange] = keysOf(historyRecords(null, after, { seq: 9, applied: 1, storedAt: STORED_AT }));
    const [lateVersion, , , lateChange] = keysOf(historyRecords(null, after, { seq: 10, applied: 1, storedAt: STORED_AT }));
    expect(lateVersion! < earlyVersion!).toBe(true);
    expect(earlyChange! < lateChange!).toBe(true);
  });
});
