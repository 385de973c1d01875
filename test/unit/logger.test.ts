import { describe, expect, it } from "vitest";
import { safePath } from "../../src/logger.js";

const KEY = `kl_01K0F0XTVRE00000000000000B_${"A".repeat(43)}`;
const TOKEN = `eyJhbGciOiJFZERTQSJ9.${"e".repeat(80)}.${"s".repeat(86)}`;

describe("safePath, for log lines and error messages", () => {
  it("keeps ids, names and the route's shape", () => {
    expect(safePath("/v1/service-accounts/ci.runner/api-keys/key_01K0F0XTVRE00000000000000B?x=1")).toBe(
      "/v1/service-accounts/ci.runner/api-keys/key_01K0F0XTVRE00000000000000B",
    );
  });

  it("masks an API key or an access token pasted into the path, plain or percent-encoded, and drops the query", () => {
    expect(safePath(`/v1/service-accounts/ops/api-keys/${KEY}?key=${KEY}`)).toBe("/v1/service-accounts/ops/api-keys/[redacted]");
    expect(safePath(`/v1/service-accounts/${encodeURIComponent(TOKEN)}`)).toBe("/v1/service-accounts/[redacted]");
    expect(safePath(`/v1/x/${KEY.slice(0, 40)}`)).toBe("/v1/x/[redacted]");
    expect(safePath("/v1/x/%E0%A4%A")).toBe("/v1/x/%E0%A4%A");
    // Short paths take a quicker way: the same answers.
    expect(safePath(`/v1/x/%6B%6C_01K0F0XTVRE00000000000000B_x`)).toBe("/v1/x/[redacted]");
    expect(safePath(`/KL_01K0F0XTVRE00000000000000B_x`)).toBe("/[redacted]");
    expect(safePath("/v1/auth/verify")).toBe("/v1/auth/verify");
  });
});
