import { describe, expect, it } from "vitest";
import { RevocationWindow } from "../../../src/client/revocation-window.js";

describe("the revocation window", () => {
  it("refuses to cache an answer whose key or account was revoked while it was in flight", () => {
    const window = new RevocationWindow(5000);
    const since = window.epoch;
    window.record({ keyId: "key_1" }, 0);
    expect(window.mayCache(since, "sa_1", "key_2", 1)).toBe(true);
    expect(window.mayCache(since, "sa_1", "key_1", 1)).toBe(false);
    window.record({ accountId: "sa_2" }, 0);
    expect(window.mayCache(since, "sa_2", "key_3", 1)).toBe(false);
    // long after: the revocations are forgotten, but an answer asked for before them is still not cached
    expect(window.mayCache(since, "sa_1", "key_1", 10_000)).toBe(false);
    expect(window.mayCache(since, "sa_3", "key_4", 10_000)).toBe(false);
    expect(window.mayCache(window.epoch, "sa_1", "key_1", 10_000)).toBe(true);
  });

  it("refuses to cache for settleMs after a revocation, even an answer asked for after it (another daemon may lag)", () => {
    const window = new RevocationWindow(5000);
    window.record({ accountId: "sa_1" }, 1000);
    const since = window.epoch;
    expect(window.mayCache(since, "sa_1", "key_1", 5999)).toBe(false);
    expect(window.mayCache(since, "sa_1", "key_1", 6000)).toBe(true);
  });

  it("treats what it forgot as concerning every answer in flight", () => {
    const window = new RevocationWindow(5000, 2);
    const since = window.epoch;
    window.record({ keyId: "key_1" }, 0);
    window.record({ keyId: "key_2" }, 0);
    window.record({ keyId: "key_3" }, 0); // key_1 forgotten
    expect(window.mayCache(since, "sa_9", "key_9", 1)).toBe(false);
    expect(window.mayCache(window.epoch, "sa_9", "key_9", 1)).toBe(true);
    window.forgetAll();
    expect(window.mayCache(since, "sa_9", "key_9", 1)).toBe(false);
    expect(window.mayCache(window.epoch, "sa_9", "key_9", 1)).toBe(true);
  });
});
