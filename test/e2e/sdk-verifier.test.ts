import { inspect } from "node:util";
import nacl from "tweetnacl";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createTokenVerifier,
  createVerifier,
  KeyledgerApiError,
  KeyledgerConnectionError,
  type RevocationSeen,
  type Verifier,
  type VerifierOptions,
} from "../../src/client/index.js";
import { REVOCATION_EVENT_TYPES } from "../../src/domain/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { approveAll } from "../helpers/trust.js";
import { client, sleep, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";
import { allEvents } from "../helpers/stream.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

let nats: TestNats;
let a: TestDaemon;
let b: TestDaemon;
let adminKey: string;
let adminA: Client;
let adminB: Client;
/** The API key of a service account with the role `verifier` only. */
let verifierKey: string;
const open: Verifier[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  a = await startTestDaemon(nats.url);
  b = await startTestDaemon(nats.url);
  adminKey = await a.adminKey();
  // b's own key counts once an admin approved it (a is the ledger's anchor).
  await approveAll(adminKey, a, b);
  adminA = client(a.url, adminKey);
  adminB = client(b.url, adminKey);
  verifierKey = (await adminA.post("/v1/service-accounts", { name: "sdk-verifier", roles: ["verifier"] })).body.apiKey.key;
  await waitUntil(async () => (await client(b.url, verifierKey).post("/v1/auth/verify", { key: "kl_x" })).status === 200);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((verifier) => verifier.close()));
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await nats?.stop();
});

/** A real fetch that records every request the verifier makes (method and path). */
function countingFetch(): { fetch: typeof fetch; requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    fetch: (input, init) => {
      requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  };
}

/** A verifier closed after the test, with every revocation it reports, stamped with the time it arrived. */
function verifierFor(options: Partial<VerifierOptions> & { url: string }) {
  const revocations: Array<RevocationSeen & { at: number }> = [];
  const verifier = createVerifier({
    apiKey: verifierKey,
    ...options,
    onRevocation: (event) => revocations.push({ ...event, at: Date.now() }),
  });
  open.push(verifier);
  return { verifier, revocations };
}

/** A service account with its default key: `{accountId, keyId, key}`. */
async function account(name: string): Promise<{ accountId: string; keyId: string; key: string }> {
  const created = await adminA.post("/v1/service-accounts", { name });
  expect(created.status).toBe(201);
  return { accountId: created.body.serviceAccount.id, keyId: created.body.apiKey.id, key: created.body.apiKey.key };
}

/** The last sequence of the revocation feed, read through daemon A's own connection. */
async function feedEnd(): Promise<number> {
  return (await a.store.manager.streams.info("KEYLEDGER_REVOCATIONS")).state.last_seq;
}

/** Waits until the feed holds every revocation appended so far, and answers its last sequence. */
async function feedHoldsEverything(): Promise<number> {
  const revocations = (await allEvents(a.store)).filter((event) => REVOCATION_EVENT_TYPES.has(event.type));
  const last = revocations.at(-1)?.seq ?? 0;
  await waitUntil(() => a.relay.position >= last && b.relay.position >= last);
  return feedEnd();
}

describe("the SDK verifier, following the revocation feed", () => {
  it("rejects a warm-cached key within a second of its deactivation on another daemon, without asking the API meanwhile", async () => {
    const warm = await account("warm");
    const bystander = await account("bystander");
    const counting = countingFetch();
    const { verifier, revocations } = verifierFor({ url: a.url, natsUrl: nats.url, fetch: counting.fetch });
    await verifier.ready();

    expect(await verifier.verify(warm.key)).toEqual({
      valid: true,
      serviceAccount: { id: warm.accountId, name: "warm", roles: [] },
      apiKey: { id: warm.keyId, name: "default", expiresAt: null },
      credential: "current",
    });
    expect((await verifier.verify(bystander.key)).valid).toBe(true);
    expect(counting.requests).toEqual(["POST /v1/auth/verify", "POST /v1/auth/verify"]);
    // warm cache: a hit makes no HTTP request
    expect((await verifier.verify(warm.key)).valid).toBe(true);
    expect(counting.requests.length).toBe(2);
    expect(verifier.status()).toMatchObject({ feed: "live", trusted: true, cachedEntries: 2, hits: 1, misses: 2 });

    const deactivated = await adminB.patch("/v1/service-accounts/warm/api-keys/default", { active: false });
    const answeredAt = Date.now();
    expect(deactivated.status).toBe(200);
    await waitUntil(() => revocations.some((event) => event.keyId === warm.keyId), 1000, 5);
    const revocation = revocations.find((event) => event.keyId === warm.keyId)!;
    expect(revocation).toMatchObject({ type: "ApiKeyDeactivated", accountId: warm.accountId, dropped: 1 });
    expect(revocation.at - answeredAt).toBeLessThan(1000);
    expect(verifier.status().position).toBeGreaterThanOrEqual(revocation.seq);
    // The drop came from the feed: not one request since the warm hit.
    expect(counting.requests.length).toBe(2);
    expect(verifier.status().cachedEntries).toBe(1);

    expect(await verifier.verify(warm.key)).toEqual({ valid: false, code: "inactive_key" });
    expect(counting.requests.length).toBe(3);
    // the cache is still trusted: the bystander's entry answers without a request
    expect((await verifier.verify(bystander.key)).valid).toBe(true);
    expect(counting.requests.length).toBe(3);
  });

  it("drops every cached key of an account that is deactivated, and every secret of a rotated key", async () => {
    const many = await account("many-keys");
    const second = (await adminA.post("/v1/service-accounts/many-keys/api-keys", { name: "second" })).body;
    const rotating = await account("rotating");
    const counting = countingFetch();
    const { verifier, revocations } = verifierFor({ url: a.url, natsUrl: nats.url, fetch: counting.fetch });
    await verifier.ready();
    for (const key of [many.key, second.key, rotating.key]) expect((await verifier.verify(key)).valid).toBe(true);
    expect(verifier.status().cachedEntries).toBe(3);

    await adminB.patch("/v1/service-accounts/many-keys", { active: false });
    await waitUntil(() => revocations.some((event) => event.type === "ServiceAccountDeactivated"), 1000, 5);
    expect(revocations.at(-1)).toMatchObject({ accountId: many.accountId, keyId: null, dropped: 2 });

    const rotated = await adminB.post("/v1/service-accounts/rotating/api-keys/default/rotate", { retainSeconds: 0 });
    await waitUntil(() => revocations.some((event) => event.type === "ApiKeyRotated"), 1000, 5);
    expect(revocations.at(-1)).toMatchObject({ accountId: rotating.accountId, keyId: rotating.keyId, dropped: 1 });
    expect(verifier.status().cachedEntries).toBe(0);

    const before = counting.requests.length;
    expect(await verifier.verify(many.key)).toEqual({ valid: false, code: "inactive_account" });
    expect(await verifier.verify(second.key)).toEqual({ valid: false, code: "inactive_account" });
    expect(await verifier.verify(rotating.key)).toEqual({ valid: false, code: "retention_expired" });
    expect((await verifier.verify(rotated.body.key)).valid).toBe(true);
    expect(counting.requests.length).toBe(before + 4);
  });

  it("does not cache an answer that was in flight when a revocation of its key arrived", async () => {
    const racing = await account("racing");
    let hold = false;
    let answered = false;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { verifier, revocations } = verifierFor({
      url: a.url,
      natsUrl: nats.url,
      // The API's answer is obtained at once, but handed to the verifier only when the test says so.
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (hold) {
          answered = true;
          await released;
        }
        return response;
      },
    });
    await verifier.ready();

    hold = true;
    const inFlight = verifier.verify(racing.key);
    await waitUntil(() => answered);
    hold = false;
    await adminB.patch("/v1/service-accounts/racing/api-keys/default", { active: false });
    await waitUntil(() => revocations.some((event) => event.keyId === racing.keyId), 1000, 5);
    release();
    // the answer was obtained before the revocation: it is returned, but not cached after the drop
    expect((await inFlight).valid).toBe(true);
    expect(verifier.status().cachedEntries).toBe(0);
    expect(await verifier.verify(racing.key)).toEqual({ valid: false, code: "inactive_key" });
  });

  it("after missing a revocation while disconnected, catches up from the last sequence it saw and rejects the key", async () => {
    const away = await account("away");
    const other = await account("other-while-away");
    const proxy: TcpProxy = await startTcpProxy(nats.url);
    try {
      const counting = countingFetch();
      const { verifier, revocations } = verifierFor({ url: a.url, natsUrl: proxy.url, fetch: counting.fetch });
      await verifier.ready();
      expect((await verifier.verify(away.key)).valid).toBe(true);
      expect((await verifier.verify(other.key)).valid).toBe(true);
      expect((await verifier.verify(away.key)).valid).toBe(true);
      expect(counting.requests.length).toBe(2);
      const end = await feedHoldsEverything();
      await waitUntil(() => verifier.status().position === end);
      const lastSeen = verifier.status().position;

      await proxy.cut();
      await waitUntil(() => verifier.status().feed === "connecting", 5000, 10);
      // While the feed is down, cached answers are not trusted: a cached key is asked again.
      expect(verifier.status().trusted).toBe(false);
      expect((await verifier.verify(other.key)).valid).toBe(true);
      expect(counting.requests.length).toBe(3);

      // The revocation happens while the verifier cannot hear it.
      expect((await adminB.patch("/v1/service-accounts/away/api-keys/default", { active: false })).status).toBe(200);
      expect(await feedHoldsEverything()).toBeGreaterThan(lastSeen);
      expect(revocations).toEqual([]);
      expect(verifier.status().cachedEntries).toBe(2);

      await proxy.restore();
      await waitUntil(() => verifier.status().trusted, 10_000, 10);
      // It resumed right after the last sequence it had seen, and the missed revocation dropped the entry.
      expect(revocations[0]!.seq).toBe(lastSeen + 1);
      expect(revocations).toContainEqual(expect.objectContaining({ type: "ApiKeyDeactivated", keyId: away.keyId, dropped: 1 }));
      const before = counting.requests.length;
      expect(await verifier.verify(away.key)).toEqual({ valid: false, code: "inactive_key" });
      expect(counting.requests.length).toBe(before + 1);
      expect((await verifier.verify(other.key)).valid).toBe(true);
      expect(counting.requests.length).toBe(before + 1);
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});

describe("the SDK verifier's cache", () => {
  it("holds positive answers for cacheTtlMs and at most maxEntries of them, least recently used out first", async () => {
    const keys = await Promise.all(["ttl-1", "ttl-2", "ttl-3"].map((name) => account(name)));
    const [k1, k2, k3] = keys.map((created) => created.key) as [string, string, string];
    let now = Date.now();
    const counting = countingFetch();
    const { verifier } = verifierFor({ url: a.url, fetch: counting.fetch, cacheTtlMs: 10_000, maxEntries: 2, clock: () => now });

    await verifier.verify(k1);
    await verifier.verify(k1);
    expect(counting.requests.length).toBe(1);
    now += 9_999;
    await verifier.verify(k1);
    expect(counting.requests.length).toBe(1);
    now += 2;
    await verifier.verify(k1); // 10,001 ms after it was cached: asked again
    expect(counting.requests.length).toBe(2);

    await verifier.verify(k2);
    await verifier.verify(k3); // a third entry: k1, the least recently used, goes
    expect(verifier.status().cachedEntries).toBe(2);
    expect(counting.requests.length).toBe(4);
    await verifier.verify(k3);
    await verifier.verify(k2);
    expect(counting.requests.length).toBe(4);
    await verifier.verify(k1);
    expect(counting.requests.length).toBe(5);
    expect(verifier.status().cachedEntries).toBe(2);
  });

  it("without a feed, keeps answers only 5 seconds by default, and never caches a refusal", async () => {
    const short = await account("short-cache");
    let now = Date.now();
    const counting = countingFetch();
    const { verifier } = verifierFor({ url: a.url, fetch: counting.fetch, clock: () => now });
    expect(verifier.status()).toMatchObject({ feed: "off", trusted: true });
    await verifier.ready();
    await verifier.verify(short.key);
    now += 4_999;
    await verifier.verify(short.key);
    expect(counting.requests.length).toBe(1);
    now += 2;
    await verifier.verify(short.key);
    expect(counting.requests.length).toBe(2);

    const unknown = `kl_key_00000000000000000000000000_${"A".repeat(43)}`;
    expect((await verifier.verify(unknown)).valid).toBe(false);
    expect((await verifier.verify(unknown)).valid).toBe(false);
    expect(counting.requests.length).toBe(4);
    // not a key at all: answered without a request
    expect(await verifier.verify("")).toEqual({ valid: false, code: "not_found" });
    expect(counting.requests.length).toBe(4);
  });

  it("refuses cache bounds out of range", () => {
    expect(() => createVerifier({ url: a.url, apiKey: verifierKey, cacheTtlMs: 3_600_001 })).toThrow(RangeError);
    expect(() => createVerifier({ url: a.url, apiKey: verifierKey, maxEntries: -1 })).toThrow(RangeError);
  });
});

describe("offline access token verification", () => {
  const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

  async function issue(name: string) {
    const created = await account(name);
    const issued = await client(a.url, created.key).post("/v1/auth/token");
    expect(issued.status).toBe(200);
    return { ...created, token: issued.body.accessToken as string };
  }

  it("verifies a token of POST /v1/auth/token with one JWKS fetch and no other request", async () => {
    const { token, accountId, keyId } = await issue("offline");
    const counting = countingFetch();
    const tokens = createTokenVerifier({ url: b.url, fetch: counting.fetch });
    const result = await tokens.verify(token);
    expect(result).toMatchObject({
      valid: true,
      claims: { iss: "keyledger", sub: accountId, key: keyId, name: "offline", roles: [], gen: 0 },
    });
    expect((await tokens.verify(token)).valid).toBe(true);
    expect(counting.requests).toEqual(["GET /.well-known/jwks.json"]);
  });

  it("refuses a tampered token, an expired one, one signed by an unknown key, and alg none", async () => {
    const { token } = await issue("refused-tokens");
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = decode(payload);
    let now = Date.now();
    const counting = countingFetch();
    const tokens = createTokenVerifier({ url: a.url, fetch: counting.fetch, clock: () => now });
    expect((await tokens.verify(token)).valid).toBe(true);

    const tampered = `${header}.${encode({ ...claims, roles: ["admin"] })}.${signature}`;
    expect(await tokens.verify(tampered)).toEqual({ valid: false, code: "bad_signature" });
    expect(await tokens.verify(`${header}.${payload}.${signature.slice(0, -4)}AAAA`)).toEqual({
      valid: false,
      code: "bad_signature",
    });

    let later = claims.exp * 1000 + 4_000; // within the default leeway of 5 s
    const expiring = createTokenVerifier({ url: a.url, clock: () => later });
    expect((await expiring.verify(token)).valid).toBe(true);
    later = claims.exp * 1000 + 5_000;
    expect(await expiring.verify(token)).toEqual({ valid: false, code: "expired" });
    const strict = createTokenVerifier({ url: a.url, clock: () => claims.exp * 1000, leewaySeconds: 0 });
    expect(await strict.verify(token)).toEqual({ valid: false, code: "expired" });

    const stranger = nacl.sign.keyPair();
    const strangerHeader = encode({ alg: "EdDSA", typ: "JWT", kid: "unknownKid000000" });
    const strangerSigned = `${strangerHeader}.${payload}`;
    const strangerSignature = Buffer.from(nacl.sign.detached(Buffer.from(strangerSigned), stranger.secretKey)).toString(
      "base64url",
    );
    const requestsBefore = counting.requests.length;
    expect(await tokens.verify(`${strangerSigned}.${strangerSignature}`)).toEqual({ valid: false, code: "unknown_key" });
    // the JWKS was fetched less than 10 s ago: an unknown key id does not fetch it again
    expect(counting.requests.length).toBe(requestsBefore);
    now += 10_000;
    expect(await tokens.verify(`${strangerSigned}.${strangerSignature}`)).toEqual({ valid: false, code: "unknown_key" });
    expect(await tokens.verify(`${strangerSigned}.${strangerSignature}`)).toEqual({ valid: false, code: "unknown_key" });
    expect(counting.requests.length).toBe(requestsBefore + 1);
    // a daemon's key id with the stranger's signature
    const forged = `${header}.${payload}`;
    const forgedSignature = Buffer.from(nacl.sign.detached(Buffer.from(forged), stranger.secretKey)).toString("base64url");
    expect(await tokens.verify(`${forged}.${forgedSignature}`)).toEqual({ valid: false, code: "bad_signature" });

    const none = encode({ alg: "none", typ: "JWT" });
    expect(await tokens.verify(`${none}.${payload}.`)).toEqual({ valid: false, code: "unsupported_algorithm" });
    expect(await tokens.verify(`${encode({ ...decode(header), alg: "none" })}.${payload}.${signature}`)).toEqual({
      valid: false,
      code: "unsupported_algorithm",
    });
    const hs256 = encode({ alg: "HS256", typ: "JWT", kid: decode(header).kid });
    expect(await tokens.verify(`${hs256}.${payload}.${signature}`)).toEqual({ valid: false, code: "unsupported_algorithm" });
    expect(await tokens.verify("not.a-token")).toEqual({ valid: false, code: "malformed" });
  });

  it("with the feed, refuses a token whose key was deactivated after it was issued, and accepts one issued after the reactivation", async () => {
    const { token, keyId, key } = await issue("token-revoked");
    const { verifier, revocations } = verifierFor({ url: a.url, natsUrl: nats.url });
    await verifier.ready();
    expect((await verifier.verifyAccessToken(token)).valid).toBe(true);

    await adminB.patch("/v1/service-accounts/token-revoked/api-keys/default", { active: false });
    await waitUntil(() => revocations.some((event) => event.keyId === keyId), 1000, 5);
    expect(await verifier.verifyAccessToken(token)).toEqual({ valid: false, code: "revoked" });

    await adminB.patch("/v1/service-accounts/token-revoked/api-keys/default", { active: true });
    await waitUntil(async () => (await client(a.url, key).get("/v1/auth/whoami")).status === 200);
    const fresh = (await client(a.url, key).post("/v1/auth/token")).body.accessToken as string;
    expect((await verifier.verifyAccessToken(fresh)).valid).toBe(true);
    expect(await verifier.verifyAccessToken(token)).toEqual({ valid: false, code: "revoked" });
  });

  it("with the feed, refuses a token whose account lost a role after it was issued; the offline check alone cannot see it", async () => {
    const created = await adminA.post("/v1/service-accounts", { name: "token-demoted", roles: ["auditor", "verifier"] });
    expect(created.status).toBe(201);
    const issued = await client(a.url, created.body.apiKey.key).post("/v1/auth/token");
    const token = issued.body.accessToken as string;
    const { verifier, revocations } = verifierFor({ url: a.url, natsUrl: nats.url });
    await verifier.ready();
    expect(await verifier.verifyAccessToken(token)).toMatchObject({ valid: true, claims: { roles: ["auditor", "verifier"] } });

    // The role goes on the other daemon; the feed carries the update (it took a role away) with the account's new epoch.
    expect((await adminB.patch("/v1/service-accounts/token-demoted", { roles: ["verifier"] })).status).toBe(200);
    await waitUntil(
      () =>
        revocations.some((event) => event.type === "ServiceAccountUpdated" && event.accountId === created.body.serviceAccount.id),
      2000,
      5,
    );
    expect(await verifier.verifyAccessToken(token)).toEqual({ valid: false, code: "revoked" });
    // The daemon refuses it too (401: the token's epoch is over), and a new token carries the new roles.
    expect((await client(a.url, token).get("/v1/auth/whoami")).status).toBe(401);
    const fresh = (await client(a.url, created.body.apiKey.key).post("/v1/auth/token")).body.accessToken as string;
    expect(await verifier.verifyAccessToken(fresh)).toMatchObject({ valid: true, claims: { roles: ["verifier"] } });
    // Adding a role ends nothing (a token names fewer roles than the account has: it may do less, never more).
    expect((await adminB.patch("/v1/service-accounts/token-demoted", { roles: ["auditor", "verifier"] })).status).toBe(200);
    await sleep(300);
    expect((await verifier.verifyAccessToken(fresh)).valid).toBe(true);
    // Without the feed, the offline check sees no change before the token expires: what the docs say.
    expect((await createTokenVerifier({ url: a.url }).verify(token)).valid).toBe(true);
  });
});

describe("the SDK verifier's secrets", () => {
  it("never puts a presented key, its API key or NATS credentials into an error or a log line", async () => {
    const presented = (await account("secret-presented")).key;
    const wrongApiKey = `kl_key_0000000000000000000000000A_${"s".repeat(43)}`;
    const natsToken = "nats-token-that-must-not-leak";
    const natsPass = "nats-password-that-must-not-leak";
    const secrets = [presented, presented.slice(-43), verifierKey, verifierKey.slice(-43), wrongApiKey, natsToken, natsPass];
    const logs: string[] = [];
    const capture = (details: Record<string, unknown>, message: string) => logs.push(`${JSON.stringify(details)} ${message}`);
    const logger = { debug: capture, info: capture, warn: capture, error: capture };
    const errors: unknown[] = [];
    const failing = async (verifier: Verifier, key: string) => {
      const error = await verifier.verify(key).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).not.toBeNull();
      errors.push(error);
      return error;
    };

    // a wrong API key: the API's 401
    const wrong = verifierFor({ url: a.url, apiKey: wrongApiKey, logger }).verifier;
    expect(await failing(wrong, presented)).toBeInstanceOf(KeyledgerApiError);
    // an API key that cannot go into a header
    const unsendable = verifierFor({
      url: a.url,
      apiKey: `${verifierKey.slice(0, 20)}\n${verifierKey.slice(20)}`,
      logger,
    }).verifier;
    expect(await failing(unsendable, presented)).toBeInstanceOf(KeyledgerConnectionError);
    // nobody listening, and credentials in the URL
    const port = await freePort();
    const unreachable = verifierFor({ url: `http://user:${natsPass}@127.0.0.1:${port}`, logger }).verifier;
    expect(await failing(unreachable, presented)).toBeInstanceOf(KeyledgerConnectionError);
    // a feed that cannot connect, with a token, a password, and a password in the URL
    const noFeed = verifierFor({
      url: a.url,
      logger,
      natsUrl: [`nats://127.0.0.1:${port}`, `nats://user:${natsPass}@127.0.0.1:${port}`],
      natsToken,
      natsUser: "user",
      natsPass,
    }).verifier;
    expect((await noFeed.verify(presented)).valid).toBe(true);
    await waitUntil(() => logs.some((line) => line.includes("revocation feed interrupted")), 10_000);
    // a feed that works, and a revocation it logs
    const working = verifierFor({ url: a.url, natsUrl: nats.url, logger });
    await working.verifier.ready();
    expect((await working.verifier.verify(presented)).valid).toBe(true);
    await adminB.patch("/v1/service-accounts/secret-presented", { active: false });
    await waitUntil(() => working.revocations.length > 0, 1000, 5);
    expect((await working.verifier.verify(presented)).valid).toBe(false);

    expect(logs.some((line) => line.includes("revocation"))).toBe(true);
    const said = [
      ...logs,
      // inspect shows the message, the stack, every own property and the whole chain of causes
      ...errors.map((error) => `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)}`),
    ].join("\n");
    expect(secrets.filter((secret) => said.includes(secret))).toEqual([]);
  }, 30_000);
});
