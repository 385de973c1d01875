import { describe, expect, it } from "vitest";
import { VerifyCache, type PositiveAnswer } from "../../../src/client/verify-cache.js";

const answer = (accountId: string, keyId: string): PositiveAnswer => ({
  valid: true,
  serviceAccount: { id: accountId, name: accountId, roles: [] },
  apiKey: { id: keyId, name: "default" },
  credential: "current",
});

describe("the verify cache", () => {
  it("answers an entry until its time is up, then forgets it", () => {
    const cache = new VerifyCache(1000, 10);
    cache.set("d1", answer("sa_1", "key_1"), 0);
    expect(cache.get("d1", 999)).toEqual(answer("sa_1", "key_1"));
    expect(cache.get("d1", 1000)).toBeNull();
    expect(cache.size).toBe(0);
    expect(cache.dropKey("key_1")).toBe(0);
  });

  it("never keeps an entry past its key's own expiresAt, and does not keep an already expired one", () => {
    const cache = new VerifyCache(60_000, 10);
    const expiring: PositiveAnswer = {
      ...answer("sa_1", "key_1"),
      apiKey: { id: "key_1", name: "default", expiresAt: new Date(500).toISOString() },
    };
    cache.set("d1", expiring, 0);
    expect(cache.get("d1", 499)).toEqual(expiring);
    expect(cache.get("d1", 500)).toBeNull();
    cache.set("d1", expiring, 500);
    expect(cache.size).toBe(0);
  });

  it("holds at most maxEntries, evicting the least recently used", () => {
    const cache = new VerifyCache(60_000, 2);
    cache.set("d1", answer("sa_1", "key_1"), 0);
    cache.set("d2", answer("sa_2", "key_2"), 0);
    expect(cache.get("d1", 1)).not.toBeNull(); // d2 is now the least recently used
    cache.set("d3", answer("sa_3", "key_3"), 2);
    expect(cache.size).toBe(2);
    expect(cache.get("d2", 3)).toBeNull();
    expect(cache.get("d1", 3)).not.toBeNull();
    expect(cache.get("d3", 3)).not.toBeNull();
    expect(cache.dropAccount("sa_2")).toBe(0); // its index went with it
  });

  it("drops every entry of an account, or of a key, and nothing else", () => {
    const cache = new VerifyCache(60_000, 100);
    cache.set("a1", answer("sa_a", "key_a1"), 0);
    cache.set("a2", answer("sa_a", "key_a2"), 0);
    cache.set("a2-retained", answer("sa_a", "key_a2"), 0);
    cache.set("b1", answer("sa_b", "key_b1"), 0);
    expect(cache.dropKey("key_a2")).toBe(2);
    expect(cache.size).toBe(2);
    expect(cache.dropAccount("sa_a")).toBe(1);
    expect(cache.get("b1", 1)).not.toBeNull();
    expect(cache.size).toBe(1);
  });

  it("caches nothing with a TTL or a size of 0", () => {
    for (const cache of [new VerifyCache(0, 10), new VerifyCache(1000, 0)]) {
      cache.set("d1", answer("sa_1", "key_1"), 0);
      expect(cache.size).toBe(0);
    }
  });
});
