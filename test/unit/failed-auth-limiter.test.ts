import { describe, expect, it } from "vitest";
import { FailedAuthLimiter } from "../../src/auth/index.js";

describe("the failed-authentication limiter", () => {
  it("limits an address after the configured number of failures in a window, and only that address", () => {
    const limiter = new FailedAuthLimiter(3, 60_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 2; i++) limiter.recordFailure("10.0.0.1", t0 + i);
    expect(limiter.retryAfter("10.0.0.1", t0 + 10)).toBe(0);
    limiter.recordFailure("10.0.0.1", t0 + 20);
    expect(limiter.retryAfter("10.0.0.1", t0 + 30)).toBe(60);
    expect(limiter.retryAfter("10.0.0.2", t0 + 30)).toBe(0);
    expect(limiter.retryAfter("10.0.0.1", t0 + 59_000)).toBe(1);
    expect(limiter.retryAfter("10.0.0.1", t0 + 60_000)).toBe(0);
  });
});
