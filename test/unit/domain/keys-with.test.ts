import { describe, expect, it } from "vitest";
import { evolve, keysWith, noKeys, type KeyState } from "../../../src/domain/index.js";
import { accountCreated, KEY_ID, keyCreated, OTHER_KEY_ID } from "./fixtures.js";

/** A key as the fold makes it from the fixtures' ApiKeyCreated. */
const key = (keyId: string, name = keyId): KeyState =>
  evolve(evolve(null, accountCreated), keyCreated(keyId, name))!.keys[keyId]!;

describe("an account's keys", () => {
  it("are copied with one key set: the old object is left as it was, the order is the order of creation", () => {
    const one = keysWith(noKeys(), key(OTHER_KEY_ID));
    const two = keysWith(one, key(KEY_ID));
    const renamed = keysWith(two, key(OTHER_KEY_ID, "renamed"));
    expect(Object.keys(one)).toEqual([OTHER_KEY_ID]);
    expect(Object.keys(two)).toEqual([OTHER_KEY_ID, KEY_ID]);
    // A key changed keeps its place.
    expect(Object.keys(renamed)).toEqual([OTHER_KEY_ID, KEY_ID]);
    expect(renamed[OTHER_KEY_ID]!.name).toBe("renamed");
    expect(two[OTHER_KEY_ID]!.name).toBe(OTHER_KEY_ID);
    expect(renamed[KEY_ID]).toBe(two[KEY_ID]);
  });

  it("serialise and compare as a plain object does (no prototype, nothing inherited)", () => {
    const keys = keysWith(noKeys(), key(KEY_ID));
    expect(JSON.parse(JSON.stringify(keys))).toEqual({ [KEY_ID]: key(KEY_ID) });
    expect(keys).toEqual({ [KEY_ID]: key(KEY_ID) });
    expect("toString" in keys).toBe(false);
    expect(keys.constructor).toBeUndefined();
  });
});
