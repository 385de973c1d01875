import { describe, expect, it } from "vitest";
import { evolve, fold } from "../../../src/domain/evolve.js";
import { initialState, type AccountState } from "../../../src/domain/state.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import { accountChange } from "../../../src/projections/diff.js";
import { ACCOUNT_ID, accountCreated, fact, HASH_1, KEY_ID, keyCreated, OTHER_KEY_ID, T2, T3 } from "../domain/fixtures.js";

const state = (events: readonly DomainEvent[]): AccountState => fold(events, initialState())!;
const created = state([accountCreated, keyCreated()]);

describe("what became of an account between two points", () => {
  it("created: not there before, live after, with its keys created", () => {
    const change = accountChange(null, created)!;
    expect(change).toMatchObject({ id: ACCOUNT_ID, change: "created", before: null, after: created });
    expect(change.keys).toEqual([{ id: KEY_ID, name: "primary", change: "created", before: null, after: created.keys[KEY_ID] }]);
  });

  it("deleted: live before, deleted after (the account's state after is not live: null)", () => {
    const deleted = evolve(created, fact("ServiceAccountDeleted", T3, { epoch: 1 }))!;
    expect(accountChange(created, deleted)).toMatchObject({ change: "deleted", before: created, after: null });
  });

  it("changed: live at both points, with the keys that changed and only those", () => {
    const withTwo = evolve(created, keyCreated(OTHER_KEY_ID, "secondary"))!;
    const rotated = evolve(
      withTwo,
      fact("ApiKeyRotated", T2, { keyId: KEY_ID, secretHash: HASH_1, hint: "h", generation: 1, retainedUntil: null }),
    )!;
    const change = accountChange(withTwo, rotated)!;
    expect(change.change).toBe("changed");
    expect(change.keys.map((key) => [key.id, key.change])).toEqual([[KEY_ID, "changed"]]);
    expect(change.keys[0]!.before).toBe(withTwo.keys[KEY_ID]);
    expect(change.keys[0]!.after).toBe(rotated.keys[KEY_ID]);
  });

  it("a key deleted between the points is deleted; one created and deleted between them too, with neither state", () => {
    const keyGone = evolve(created, fact("ApiKeyDeleted", T2, { keyId: KEY_ID, epoch: 1 }))!;
    expect(accountChange(created, keyGone)!.keys).toEqual([
      { id: KEY_ID, name: "primary", change: "deleted", before: created.keys[KEY_ID], after: null },
    ]);
    const cameAndWent = evolve(
      evolve(created, keyCreated(OTHER_KEY_ID, "brief"))!,
      fact("ApiKeyDeleted", T3, { keyId: OTHER_KEY_ID, epoch: 1 }),
    )!;
    expect(accountChange(created, cameAndWent)!.keys).toEqual([
      { id: OTHER_KEY_ID, name: "brief", change: "deleted", before: null, after: null },
    ]);
  });

  it("an account created and deleted between the points is deleted, with neither state", () => {
    const deleted = evolve(created, fact("ServiceAccountDeleted", T3, { epoch: 1 }))!;
    expect(accountChange(null, deleted)).toMatchObject({ name: "billing-worker", change: "deleted", before: null, after: null });
  });

  it("nothing: the same state, or an account deleted before the first point and still deleted", () => {
    expect(accountChange(created, created)).toBeNull();
    const deleted = evolve(created, fact("ServiceAccountDeleted", T3, { epoch: 1 }))!;
    expect(accountChange(deleted, deleted)).toBeNull();
    expect(accountChange(null, null)).toBeNull();
  });
});
