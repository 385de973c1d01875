/**
 * Failed authentications are limited per client address: after the configured number of failures
 * in a minute, every authenticated request from that address — even with a valid admin key — is
 * answered 429 `rate_limited` with `Retry-After`, while public routes keep answering.
 * This file runs its own daemons so that the lock-out cannot touch any other test file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, startStack, UNKNOWN_KEY, type Stack } from "./fixtures.js";

const LIMIT = 5;

function retryAfterOf(answer: { headers: Headers }): number {
  const header = answer.headers.get("retry-after");
  expect(header).toMatch(/^\d+$/);
  return Number(header);
}

describe(`a daemon allowing ${LIMIT} failed authentications a minute`, () => {
  let stack: Stack;
  /** The daemon's clock runs this far ahead of the real one; moved forward to end the window. */
  let offsetMs = 0;

  beforeAll(async () => {
    stack = await startStack({ "auth-failures-per-minute": String(LIMIT) }, { clock: () => new Date(Date.now() + offsetMs) });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("does not count successful requests, nor invalid keys the caller asks to verify", async () => {
    for (let i = 0; i < LIMIT * 2; i++) expect((await stack.admin.get("/v1/auth/whoami")).status).toBe(200);
    for (let i = 0; i < LIMIT * 2; i++) {
      const answer = await stack.admin.post("/v1/auth/verify", { key: UNKNOWN_KEY });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ valid: false, code: "not_found" });
    }
    expect((await stack.admin.get("/v1/auth/whoami")).status).toBe(200);
  });

  it(`answers the first ${LIMIT} failures 401, then refuses even a valid admin key with 429`, async () => {
    const stranger = stack.as(UNKNOWN_KEY);
    for (let i = 0; i < LIMIT; i++) expectError(await stranger.get("/v1/auth/whoami"), 401, "unauthenticated");

    const refused = await stack.admin.get("/v1/auth/whoami");
    expectError(refused, 429, "rate_limited");
    const retryAfter = retryAfterOf(refused);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it("refuses every authenticated route, with or without a credential, and writes nothing", async () => {
    expectError(await stack.as().get("/v1/auth/whoami"), 429, "rate_limited");
    expectError(await stack.as(UNKNOWN_KEY).get("/v1/service-accounts"), 429, "rate_limited");
    expectError(await stack.admin.get("/v1/service-accounts"), 429, "rate_limited");
    expectError(await stack.admin.post("/v1/auth/token"), 429, "rate_limited");
    expectError(await stack.admin.post("/v1/auth/verify", { key: UNKNOWN_KEY }), 429, "rate_limited");
    expectError(await stack.admin.post("/v1/service-accounts", { name: "during-lockout" }), 429, "rate_limited");
    const deleted = await stack.admin.delete("/v1/service-accounts/admin");
    expectError(deleted, 429, "rate_limited");
    expect(retryAfterOf(deleted)).toBeGreaterThan(0);
  });

  it("does not lengthen the wait for requests refused with 429", async () => {
    const first = retryAfterOf(await stack.admin.get("/v1/auth/whoami"));
    for (let i = 0; i < 20; i++) await stack.as(UNKNOWN_KEY).get("/v1/auth/whoami");
    const later = retryAfterOf(await stack.admin.get("/v1/auth/whoami"));
    expect(later).toBeLessThanOrEqual(first);
  });

  it("keeps answering the public routes", async () => {
    const health = await stack.as().get("/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok" });
    const ready = await stack.as(UNKNOWN_KEY).get("/readyz");
    expect(ready.status).toBe(200);
    const jwks = await stack.as().get("/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.length).toBeGreaterThan(0);
  });

  it("lets the address in again once Retry-After has passed", async () => {
    const retryAfter = retryAfterOf(await stack.admin.get("/v1/auth/whoami"));
    expect(retryAfter).toBeGreaterThan(2);
    // Two seconds short of the deadline the address is still refused; at the deadline it is let in.
    offsetMs += (retryAfter - 2) * 1000;
    expectError(await stack.admin.get("/v1/auth/whoami"), 429, "rate_limited");
    offsetMs += 2000;
    const whoami = await stack.admin.get("/v1/auth/whoami");
    expect(whoami.status).toBe(200);
    expect(whoami.body.serviceAccount.name).toBe("admin");
    expect((await stack.admin.get("/v1/service-accounts/during-lockout")).status).toBe(404);
  });
});

describe("behind a trusted proxy, the limit is per client address", () => {
  let stack: Stack;
  const from = (address: string) => ({ "x-forwarded-for": address });

  beforeAll(async () => {
    stack = await startStack({ "auth-failures-per-minute": "2", "trust-proxy": "1" });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("locks out the failing address only", async () => {
    const stranger = stack.as(UNKNOWN_KEY);
    for (let i = 0; i < 2; i++)
      expectError(await stranger.call("GET", "/v1/auth/whoami", undefined, from("203.0.113.7")), 401, "unauthenticated");
    expectError(await stack.admin.call("GET", "/v1/auth/whoami", undefined, from("203.0.113.7")), 429, "rate_limited");
    expect((await stack.admin.call("GET", "/v1/auth/whoami", undefined, from("203.0.113.8"))).status).toBe(200);
    expect((await stack.admin.get("/v1/auth/whoami")).status).toBe(200);
  });

  it("counts by the address the trusted proxy saw, whatever a client writes before it", async () => {
    const stranger = stack.as(UNKNOWN_KEY);
    for (let i = 0; i < 2; i++) {
      expectError(
        await stranger.call("GET", "/v1/auth/whoami", undefined, from(`198.51.100.${i}, 203.0.113.9`)),
        401,
        "unauthenticated",
      );
    }
    expectError(
      await stack.admin.call("GET", "/v1/auth/whoami", undefined, from("198.51.100.99, 203.0.113.9")),
      429,
      "rate_limited",
    );
  });
});
