import { describe, expect, it } from "vitest";
import { keysWith, noKeys, type KeyState } from "../../../src/domain/index.js";

const key = (id: string, name = id): KeyState => ({
  id,
  name,
  description: "",
  active: true,
  deleted: false,
  secretHash: "sha256:x",
  hint: "kl_…",
  generation: 0,
  previous: null,
  expiresAt: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  lastRotatedAt: null,
  epoch: 0,
});

describe("an account's keys", () => {
  it("are copied with one key set: the old object is left as it was, the order is the order of creation", () => {
    const one = keysWith(noKeys(), key("key_B"));
    const two = keysWith(one, key("key_A"));
    const renamed = keysWith(two, key("key_B", "renamed"));
    expect(Object.keys(one)).toEqual(["key_B"]);
    expect(Object.keys(two)).toEqual(["key_B", "key_A"]);
    // A key changed keeps its place.
    expect(Object.keys(renamed)).toEqual(["key_B", "key_A"]);
    expect(renamed.key_B!.name).toBe("renamed");
    expect(two.key_B!.name).toBe("key_B");
    expect(renamed.key_A).toBe(two.key_A);
  });

  it("serialise and compare as a plain object does (no prototype, nothing inherited)", () => {
    const keys = keysWith(noKeys(), key("key_A"));
    expect(JSON.parse(JSON.stringify(keys))).toEqual({ key_A: key("key_A") });
    expect(keys).toEqual({ key_A: key("key_A") });
    expect("toString" in keys).toBe(false);
    expect(keys.constructor).toBeUndefined();
  });
});
