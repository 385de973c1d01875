import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/client/index.js";
import { keyStatus } from "../../../src/cli/format.js";

const NOW = Date.parse("2030-01-31T12:00:00Z");
const key = (overrides: Partial<ApiKey>): ApiKey =>
  ({
    id: "key_1",
    name: "deploy",
    serviceAccountId: "sa_1",
    description: "",
    active: true,
    hint: "kl_…abcd",
    createdAt: "2030-01-01T00:00:00Z",
    lastRotatedAt: null,
    lastUsedAt: null,
    expiresAt: null,
    retainedUntil: null,
    ...overrides,
  }) as ApiKey;

describe("a key's status, as the CLI shows it", () => {
  it("is inactive when switched off, whatever else holds", () => {
    expect(keyStatus(key({ active: false, expiresAt: "2000-01-01T00:00:00Z" }), NOW)).toBe("inactive");
  });
  it("is expired once its expiry has passed, and active just before", () => {
    expect(keyStatus(key({ expiresAt: "2030-01-31T12:00:00Z" }), NOW)).toBe("expired");
    expect(keyStatus(key({ expiresAt: "2030-01-31T12:00:01Z" }), NOW)).toBe("active");
  });
  it("is retained while a rotation's retention runs, active after it", () => {
    expect(keyStatus(key({ retainedUntil: "2030-01-31T12:05:00Z" }), NOW)).toBe("retained");
    expect(keyStatus(key({ retainedUntil: "2030-01-31T11:55:00Z" }), NOW)).toBe("active");
  });
});
