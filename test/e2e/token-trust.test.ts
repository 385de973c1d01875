/**
 * Access tokens against the trust root and the clocks, from the attacker's side: every forged token
 * here is written by this file's own code (JSON, base64url, node:crypto Ed25519), never by the
 * project's signing helpers.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { approveAll } from "../helpers/trust.js";

let nats: TestNats;
let a: TestDaemon;
/** A second daemon whose clock runs 10 s ahead: its tokens say they were issued 10 s "later". */
let ahead: TestDaemon;
let adminKey: string;
let admin: Client;
const AHEAD_MS = 10_000;

beforeAll(async () => {
  nats = await startTestNats();
  a = await startTestDaemon(nats.url, {
    "token-ttl-seconds": "600",
    "token-clock-skew-seconds": "30",
    "auth-failures-per-minute": "1000000",
  });
  ahead = await startTestDaemon(nats.url, { "token-ttl-seconds": "600" }, { clock: () => new Date(Date.now() + AHEAD_MS) });
  adminKey = await a.adminKey();
  admin = client(a.url, adminKey);
  await approveAll(adminKey, a, ahead);
}, 60_000);

afterAll(async () => {
  await ahead?.stop();
  await a?.stop();
  await nats?.stop();
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/** A JWT written from the documented format and signed with `key` (node:crypto), naming `kid`. */
function mint(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const head = `${b64({ alg: "EdDSA", typ: "JWT", kid })}.${b64(claims)}`;
  return `${head}.${sign(null, Buffer.from(head, "ascii"), key).toString("base64url")}`;
}

/** The daemon's own signing key, read from its data directory as any holder of the file could. */
async function daemonKey(daemon: TestDaemon): Promise<{ key: KeyObject; kid: string }> {
  const seed = Buffer.from((await readFile(join(daemon.dataDir, "signing.key"), "utf8")).trim(), "base64");
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });
  const raw = key.export({ format: "jwk" }).x!;
  return { key, kid: createHash("sha256").update(Buffer.from(raw, "base64url")).digest("base64url").slice(0, 16) };
}

async function account(name: string): Promise<{ key: string; accountId: string; keyId: string }> {
  const created = await admin.post("/v1/service-accounts", { name, roles: ["auditor"] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { key: created.body.apiKey.key, accountId: created.body.serviceAccount.id, keyId: created.body.apiKey.id };
}

/** The claims a real token of this account would carry now (epochs 0: never deactivated). */
function claimsOf(who: { accountId: string; keyId: string }, iatMs: number, lifetime = 300): Record<string, unknown> {
  const iat = Math.floor(iatMs / 1000);
  return {
    iss: "keyledger",
    sub: who.accountId,
    key: who.keyId,
    gen: 0,
    kep: 0,
    aep: 0,
    name: "x",
    roles: ["admin"],
    iat,
    iat_ms: iatMs,
    exp: iat + lifetime,
    jti: "tok_forged",
  };
}

const status = async (daemon: TestDaemon, token: string): Promise<number> =>
  (await client(daemon.url, token).get("/v1/auth/whoami")).status;

describe("tokens signed by a key the ledger does not trust", () => {
  it("are refused, whichever key id they claim and whatever the KV bucket says", async () => {
    const who = await account("forged-token-target");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const ownKid = createHash("sha256").update(raw).digest("base64url").slice(0, 16);
    const claims = claimsOf(who, Date.now());
    expect(await status(a, mint(claims, privateKey, ownKid))).toBe(401);
    // Claiming the daemon's own key id (the squat of the KV bucket) does not make the signature the daemon's.
    expect(await status(a, mint(claims, privateKey, a.signer.keyId))).toBe(401);
    // The same claims signed with the daemon's real key count: the claims themselves were fine.
    const real = await daemonKey(a);
    expect(await status(a, mint(claims, real.key, real.kid))).toBe(200);
  });
});

describe("token claims a daemon refuses even with a good signature", () => {
  it("an issue time further in the future than the clock skew allows, or a lifetime longer than the configured TTL", async () => {
    const who = await account("claims-checked");
    const { key, kid } = await daemonKey(a);
    expect(await status(a, mint(claimsOf(who, Date.now() + 20_000), key, kid))).toBe(200); // within the 30 s skew
    expect(await status(a, mint(claimsOf(who, Date.now() + 120_000), key, kid))).toBe(401);
    expect(await status(a, mint(claimsOf(who, Date.now(), 600), key, kid))).toBe(200); // the TTL itself
    expect(await status(a, mint(claimsOf(who, Date.now(), 601), key, kid))).toBe(401);
    // iat and iat_ms that disagree, or epochs missing: not a token this daemon issues.
    expect(await status(a, mint({ ...claimsOf(who, Date.now()), iat: Math.floor(Date.now() / 1000) - 100 }, key, kid))).toBe(401);
    const { kep: _kep, ...noEpochs } = claimsOf(who, Date.now());
    expect(await status(a, mint(noEpochs, key, kid))).toBe(401);
  });

  it("another spelling of a valid token (base64url that is not canonical) is refused", async () => {
    const who = await account("canonical-only");
    const issued = (await client(a.url, who.key).post("/v1/auth/token")).body.accessToken as string;
    expect(await status(a, issued)).toBe(200);
    const [header, payload, signature] = issued.split(".") as [string, string, string];
    // 64 signature bytes are 86 characters, the last one carrying 4 unused bits: flip one of them.
    const last = signature.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelled = `${header}.${payload}.${signature.slice(0, -1)}${twin}`;
    expect(Buffer.from(respelled.split(".")[2]!, "base64url")).toEqual(Buffer.from(signature, "base64url"));
    expect(await status(a, respelled)).toBe(401);
    expect(await status(a, `${header}.${payload}.${signature}==`)).toBe(401);
  });
});

describe("a deactivation beats every token minted before it took effect", () => {
  it("with a daemon whose clock runs ahead: its token dies at the deactivation and stays dead after the reactivation", async () => {
    for (let round = 0; round < 5; round++) {
      const name = `skewed-${round}`;
      const who = await account(name);
      await waitUntil(async () => (await client(ahead.url, who.key).get("/v1/auth/whoami")).status === 200);
      // Minted on the daemon whose clock is 10 s ahead: its issue time lies after the deactivation's own time.
      const minted = await client(ahead.url, who.key).post("/v1/auth/token");
      expect(minted.status).toBe(200);
      const token = minted.body.accessToken as string;
      expect(await status(a, token)).toBe(200);
      expect((await admin.patch(`/v1/service-accounts/${name}/api-keys/default`, { active: false })).status).toBe(200);
      expect((await admin.patch(`/v1/service-accounts/${name}/api-keys/default`, { active: true })).status).toBe(200);
      expect(await status(a, token), `round ${round}`).toBe(401);
      expect((await admin.patch(`/v1/service-accounts/${name}`, { active: false })).status).toBe(200);
      expect((await admin.patch(`/v1/service-accounts/${name}`, { active: true })).status).toBe(200);
      const fresh = (await client(a.url, who.key).post("/v1/auth/token")).body.accessToken as string;
      expect(await status(a, fresh)).toBe(200);
    }
  });

  it("on one daemon, tokens minted while the deactivation is being applied never survive the reactivation", async () => {
    let minted = 0;
    for (let round = 0; round < 12; round++) {
      const name = `raced-${round}`;
      const who = await account(name);
      const bearer = client(a.url, who.key);
      // Tokens requested all through the deactivation; every one that was issued came from a state
      // before the reactivation below was even asked for.
      const tokens: string[] = [];
      let stop = false;
      const minting = (async () => {
        while (!stop) {
          const answer = await bearer.post("/v1/auth/token");
          if (answer.status === 200) tokens.push(answer.body.accessToken as string);
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await admin.patch(`/v1/service-accounts/${name}/api-keys/default`, { active: false })).status).toBe(200);
      stop = true;
      await minting;
      expect((await admin.patch(`/v1/service-accounts/${name}/api-keys/default`, { active: true })).status).toBe(200);
      minted += tokens.length;
      for (const token of tokens) expect(await status(a, token), `round ${round}`).toBe(401);
    }
    expect(minted).toBeGreaterThan(12);
  });
});
