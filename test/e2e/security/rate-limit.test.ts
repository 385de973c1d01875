/**
 * Failed authentications are limited per client address (IPv6 by /64) and per key id the
 * credential names. Past the limit in a minute, a FAILING request is answered 429 `rate_limited`
 * with `Retry-After` instead of 401; a valid credential is always served, so that nobody can lock
 * the admin or a verifier out by failing from the same address or against the same key id.
 * Written from the attacker's side, against real daemons on a real nats-server; each describe runs
 * its own daemon so that its counts touch nothing else.
 *
 * IPv6 from real sockets is not covered: the loopback interface holds ::1/128 only, and adding
 * aliases would change the host. The /64 grouping is shown through a trusted proxy's
 * X-Forwarded-For here and in the limiter's unit test.
 */
import { createServer, connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send, type Answer as RawAnswer, type Outgoing } from "../../helpers/routes.js";
import { createAccount, expectError, startStack, UNKNOWN_KEY, type Stack } from "./fixtures.js";

const LIMIT = 5;
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A key id that no daemon issued: each one names a fresh key-id bucket. */
const randomKeyId = (): string => `key_${Array.from({ length: 26 }, () => CROCKFORD[Math.floor(Math.random() * 32)]).join("")}`;
/** An API key of a random key id. */
const randomKey = (): string => `kl_${randomKeyId().slice("key_".length)}_${"A".repeat(43)}`;

/** The same key id with a guessed secret. */
const wrongSecret = (key: string, n: number): string => `${key.slice(0, 30)}${String(n).padStart(43, "G")}`;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
/** An access token anybody can write: any `key` claim, no valid signature. */
const forgedToken = (keyId: string): string =>
  `${b64({ alg: "EdDSA", typ: "JWT", kid: "ed25519:forged" })}.${b64({ iss: "keyledger", sub: "sa_x", key: keyId })}.c2ln`;

function retryAfterOf(answer: { headers: Headers }): number {
  const header = answer.headers.get("retry-after");
  expect(header).toMatch(/^\d+$/);
  return Number(header);
}

function expectLimited(answer: { status: number; body: any; headers: Headers }): void {
  expectError(answer, 429, "rate_limited");
  const retryAfter = retryAfterOf(answer);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

/** Whether this kernel lets a client bind 127.0.0.2 … 127.0.0.21 (Linux answers on all of 127/8). */
async function loopbackAliases(): Promise<boolean> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    for (const last of [2, 21]) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, localAddress: `127.0.0.${last}` }, () => {
          socket.destroy();
          resolve();
        });
        socket.on("error", reject);
      });
    }
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}
const canBindLoopbackAliases = await loopbackAliases();

describe(`a daemon allowing ${LIMIT} failed authentications a minute: the admin's address is flooded`, () => {
  let stack: Stack;
  /** The daemon's clock runs this far ahead of the real one; moved forward to end the window. */
  let offsetMs = 0;
  let verifierKey: string;

  beforeAll(async () => {
    stack = await startStack({ "auth-failures-per-minute": String(LIMIT) }, { clock: () => new Date(Date.now() + offsetMs) });
    verifierKey = (await createAccount(stack.admin, "a-verifier", ["verifier"])).key;
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

  it(`answers the first ${LIMIT} failures from the address 401, then 429 with Retry-After, whatever key id they name`, async () => {
    // Each failure names another key id (or none), so only the address's bucket can fill.
    const failures = [undefined, "not-a-key", randomKey(), randomKey(), forgedToken("key_0123456789ABCDEFGHJKMNPQRS")];
    expect(failures).toHaveLength(LIMIT);
    for (const credential of failures) expectError(await stack.as(credential).get("/v1/auth/whoami"), 401, "unauthenticated");
    expectLimited(await stack.as(randomKey()).get("/v1/auth/whoami"));
  });

  it("still serves the admin's valid key from that address, on every kind of route", async () => {
    const whoami = await stack.admin.get("/v1/auth/whoami");
    expect(whoami.status).toBe(200);
    expect(whoami.body.serviceAccount.name).toBe("admin");
    expect((await stack.admin.get("/v1/service-accounts")).status).toBe(200);
    expect((await stack.admin.post("/v1/service-accounts", { name: "during-flood" })).status).toBe(201);
    expect((await stack.admin.patch("/v1/service-accounts/during-flood", { description: "changed" })).status).toBe(200);
    expect((await stack.admin.get("/v1/service-accounts/during-flood/api-keys")).status).toBe(200);
    expect((await stack.admin.get("/v1/events?limit=5")).status).toBe(200);
    const token = await stack.admin.post("/v1/auth/token");
    expect(token.status).toBe(200);
    expect((await stack.as(token.body.accessToken).get("/v1/auth/whoami")).body.credential).toBe("token");
  });

  it("still lets a verifier's valid key verify from that address, and counts none of its {valid:false} answers", async () => {
    const verifier = stack.as(verifierKey);
    const admin = await verifier.post("/v1/auth/verify", { key: await stack.daemon.adminKey() });
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ valid: true, serviceAccount: { name: "admin" } });
    for (let i = 0; i < LIMIT * 2; i++) {
      const answer = await verifier.post("/v1/auth/verify", { key: randomKey() });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ valid: false, code: "not_found" });
    }
  });

  it("answers every failing request from that address 429, with or without a credential, and writes nothing", async () => {
    const adminKey = await stack.daemon.adminKey();
    expectLimited(await stack.as().get("/v1/auth/whoami"));
    expectLimited(await stack.as(UNKNOWN_KEY).get("/v1/service-accounts"));
    expectLimited(await stack.as(wrongSecret(adminKey, 1)).get("/v1/service-accounts"));
    expectLimited(await stack.as(wrongSecret(verifierKey, 1)).post("/v1/auth/verify", { key: verifierKey }));
    expectLimited(await stack.as(forgedToken("key_0123456789ABCDEFGHJKMNPQRS")).post("/v1/auth/token"));
    expectLimited(await stack.as(randomKey()).post("/v1/service-accounts", { name: "by-a-stranger" }));
    expectLimited(await stack.as(randomKey()).delete("/v1/service-accounts/admin"));
    expect((await stack.admin.get("/v1/service-accounts/by-a-stranger")).status).toBe(404);
    expect((await stack.admin.get("/v1/service-accounts/admin")).status).toBe(200);
  });

  it("does not lengthen the wait for failures refused with 429", async () => {
    const first = retryAfterOf(await stack.as().get("/v1/auth/whoami"));
    for (let i = 0; i < 20; i++) await stack.as(UNKNOWN_KEY).get("/v1/auth/whoami");
    const later = retryAfterOf(await stack.as().get("/v1/auth/whoami"));
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

  it("answers failures 401 again once Retry-After has passed", async () => {
    const retryAfter = retryAfterOf(await stack.as().get("/v1/auth/whoami"));
    expect(retryAfter).toBeGreaterThan(2);
    // Two seconds short of the deadline a failure is still 429; at the deadline it is 401 again.
    offsetMs += (retryAfter - 2) * 1000;
    expectLimited(await stack.as().get("/v1/auth/whoami"));
    offsetMs += 2000;
    expectError(await stack.as().get("/v1/auth/whoami"), 401, "unauthenticated");
    expect((await stack.admin.get("/v1/auth/whoami")).status).toBe(200);
  });
});

describe.runIf(canBindLoopbackAliases)(`20 loopback addresses guessing at one key id, ${LIMIT} failures a minute`, () => {
  let stack: Stack;
  let targetKey: string;
  let targetId: string;

  beforeAll(async () => {
    stack = await startStack({ "auth-failures-per-minute": String(LIMIT) });
    const target = await createAccount(stack.admin, "the-target", ["verifier"]);
    targetKey = target.key;
    const listed = await stack.admin.get("/v1/service-accounts/the-target/api-keys");
    targetId = listed.body.items[0].id;
    expect(`kl_${targetId.slice("key_".length)}`).toBe(targetKey.slice(0, 29));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** One request over a fresh connection from `localAddress`. */
  async function from(localAddress: string, credential: string | undefined, request: Partial<Outgoing> = {}): Promise<RawAnswer> {
    return send(
      stack.daemon.url,
      {
        method: "GET",
        url: "/v1/auth/whoami",
        ...request,
        headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` },
      },
      { localAddress },
    );
  }
  const sources = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);
  const outcome = (answer: RawAnswer): string =>
    answer.status === 429 && /^[1-9]\d*$/.test(String(answer.headers["retry-after"]))
      ? "429 with Retry-After"
      : `${answer.status} ${answer.json?.error?.code ?? ""}`.trim();

  it("sees each source address as its own client: one over its limit leaves its neighbours alone", async () => {
    const got: string[] = [];
    for (let i = 0; i < LIMIT + 2; i++) got.push(outcome(await from("127.0.0.50", randomKey())));
    expect(got).toEqual([...new Array(LIMIT).fill("401 unauthenticated"), ...new Array(2).fill("429 with Retry-After")]);
    expect(outcome(await from("127.0.0.51", randomKey()))).toBe("401 unauthenticated");
    expect(outcome(await from("127.0.0.2", randomKey()))).toBe("401 unauthenticated");
  });

  it(`limits them after ${LIMIT} failures in total, not 20 × ${LIMIT}`, async () => {
    const got: string[] = [];
    for (const [i, source] of sources.entries()) got.push(outcome(await from(source, wrongSecret(targetKey, i))));
    expect(got).toEqual([...new Array(LIMIT).fill("401 unauthenticated"), ...new Array(20 - LIMIT).fill("429 with Retry-After")]);
  });

  it("limits forged access tokens that claim the key id, from yet other addresses, in the same bucket", async () => {
    expect(outcome(await from("127.0.0.40", forgedToken(targetId)))).toBe("429 with Retry-After");
    expect(outcome(await from("127.0.0.41", forgedToken(randomKeyId())))).toBe("401 unauthenticated");
  });

  it("leaves every source its own budget for other key ids", async () => {
    for (const source of sources) expect(outcome(await from(source, randomKey()))).toBe("401 unauthenticated");
  });

  it("still serves the real key, and a token minted from it, from every one of those addresses", async () => {
    const admin = await stack.daemon.adminKey();
    const token = await from(sources[0]!, targetKey, { method: "POST", url: "/v1/auth/token" });
    expect(token.status).toBe(200);
    for (const source of sources) {
      expect((await from(source, targetKey)).status).toBe(200);
      expect((await from(source, token.json.accessToken)).status).toBe(200);
      const verified = await from(source, targetKey, { method: "POST", url: "/v1/auth/verify", body: { key: admin } });
      expect({ status: verified.status, valid: verified.json?.valid }).toEqual({ status: 200, valid: true });
    }
  });
});

describe("behind a trusted proxy, the limit is per client address the proxy saw, IPv6 by /64", () => {
  let stack: Stack;
  const from = (address: string) => ({ "x-forwarded-for": address });

  beforeAll(async () => {
    stack = await startStack({ "auth-failures-per-minute": "2", "trust-proxy": "1" });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("limits the failing address only, and still serves a valid key from it", async () => {
    const stranger = () => stack.as(randomKey());
    for (let i = 0; i < 2; i++)
      expectError(await stranger().call("GET", "/v1/auth/whoami", undefined, from("203.0.113.7")), 401, "unauthenticated");
    expectLimited(await stranger().call("GET", "/v1/auth/whoami", undefined, from("203.0.113.7")));
    expect((await stack.admin.call("GET", "/v1/auth/whoami", undefined, from("203.0.113.7"))).status).toBe(200);
    expectError(await stranger().call("GET", "/v1/auth/whoami", undefined, from("203.0.113.8")), 401, "unauthenticated");
  });

  it("counts by the address the trusted proxy saw, whatever a client writes before it", async () => {
    const stranger = () => stack.as(randomKey());
    for (let i = 0; i < 2; i++) {
      expectError(
        await stranger().call("GET", "/v1/auth/whoami", undefined, from(`198.51.100.${i}, 203.0.113.9`)),
        401,
        "unauthenticated",
      );
    }
    expectLimited(await stranger().call("GET", "/v1/auth/whoami", undefined, from("198.51.100.99, 203.0.113.9")));
  });

  it("counts every address of one IPv6 /64 in one bucket, and another /64 apart", async () => {
    const stranger = () => stack.as(randomKey());
    const call = (address: string) => stranger().call("GET", "/v1/auth/whoami", undefined, from(address));
    expectError(await call("2001:db8:aa:1::1"), 401, "unauthenticated");
    expectError(await call("2001:db8:aa:1:ffff:ffff:ffff:fffe"), 401, "unauthenticated");
    expectLimited(await call("2001:db8:aa:1:1234:5678:9abc:def0"));
    expectError(await call("2001:db8:aa:2::1"), 401, "unauthenticated");
    expect((await stack.admin.call("GET", "/v1/auth/whoami", undefined, from("2001:db8:aa:1::99"))).status).toBe(200);
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address", async () => {
    const stranger = () => stack.as(randomKey());
    const call = (address: string) => stranger().call("GET", "/v1/auth/whoami", undefined, from(address));
    expectError(await call("192.0.2.77"), 401, "unauthenticated");
    expectError(await call("::ffff:192.0.2.77"), 401, "unauthenticated");
    expectLimited(await call("192.0.2.77"));
    expectError(await call("::ffff:192.0.2.78"), 401, "unauthenticated");
  });
});
