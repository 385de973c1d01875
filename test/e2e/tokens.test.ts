import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { approveAll } from "../helpers/trust.js";
import { client, sleep, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let a: TestDaemon;
let b: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  a = await startTestDaemon(nats.url);
  b = await startTestDaemon(nats.url);
  admin = client(a.url, await a.adminKey());
  // b's own key counts once an admin approved it (a is the ledger's anchor).
  await approveAll(await a.adminKey(), a, b);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await nats?.stop();
});

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

/** An independent check of an EdDSA JWT against a JWKS, with tweetnacl (as an offline verifier would). */
function verifyWithJwks(token: string, jwks: { keys: Array<{ kid: string; x: string; crv: string; kty: string }> }): boolean {
  const [header, payload, signature] = token.split(".");
  const jwk = jwks.keys.find((key) => key.kid === decode(header!).kid);
  if (jwk === undefined || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") return false;
  return nacl.sign.detached.verify(
    Buffer.from(`${header}.${payload}`, "ascii"),
    Buffer.from(signature!, "base64url"),
    Buffer.from(jwk.x, "base64url"),
  );
}

describe("access tokens", () => {
  it("are EdDSA JWTs that tweetnacl verifies against the JWKS of either daemon", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "jwt-user", roles: ["auditor"] })).body.apiKey;
    const issued = await client(a.url, key).post("/v1/auth/token");
    expect(issued.status).toBe(200);
    const { accessToken, expiresIn, expiresAt } = issued.body;
    const [header, payload] = accessToken.split(".");
    expect(decode(header)).toMatchObject({ alg: "EdDSA", typ: "JWT" });
    const claims = decode(payload);
    expect(claims).toMatchObject({ iss: "keyledger", name: "jwt-user", roles: ["auditor"] });
    expect(claims.sub).toMatch(/^sa_/);
    expect(claims.key).toMatch(/^key_/);
    expect(claims.exp - claims.iat).toBe(expiresIn);
    expect(Date.parse(expiresAt)).toBe(claims.exp * 1000);

    for (const daemon of [a, b]) {
      const jwks = await client(daemon.url).get("/.well-known/jwks.json");
      expect(jwks.status).toBe(200);
      expect(jwks.body.keys.length).toBe(2);
      expect(verifyWithJwks(accessToken, jwks.body)).toBe(true);
    }
    // a token of daemon A works on daemon B, which checks it with A's registered key
    await waitUntil(async () => (await client(b.url, accessToken).get("/v1/service-accounts/jwt-user")).status === 200);
  });

  it("are refused once tampered with", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "tamper" })).body.apiKey;
    const { accessToken } = (await client(a.url, key).post("/v1/auth/token")).body;
    const [header, payload, signature] = accessToken.split(".");
    const forged = Buffer.from(JSON.stringify({ ...decode(payload), roles: ["admin"] })).toString("base64url");
    expect((await client(a.url, `${header}.${forged}.${signature}`).get("/v1/auth/whoami")).status).toBe(401);
    const jwks = (await client(a.url).get("/.well-known/jwks.json")).body;
    expect(verifyWithJwks(`${header}.${forged}.${signature}`, jwks)).toBe(false);
  });

  it("stop working when their key is rotated out, but not while its old secret is retained", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "rotator" })).body.apiKey;
    const { accessToken } = (await client(a.url, key).post("/v1/auth/token")).body;
    const bearer = client(a.url, accessToken);
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(200);
    await admin.post("/v1/service-accounts/rotator/api-keys/default/rotate", { retainSeconds: 1 });
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(200);
    await sleep(1100);
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(401);
  });

  it("stop working when their account is deactivated, and stay dead after a reactivation", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "short-lived" })).body.apiKey;
    const { accessToken } = (await client(a.url, key).post("/v1/auth/token")).body;
    const bearer = client(a.url, accessToken);
    await admin.patch("/v1/service-accounts/short-lived", { active: false });
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(401);
    await admin.patch("/v1/service-accounts/short-lived", { active: true });
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(401);
    const fresh = client(a.url, (await client(a.url, key).post("/v1/auth/token")).body.accessToken);
    expect((await fresh.get("/v1/auth/whoami")).status).toBe(200);
    await admin.delete("/v1/service-accounts/short-lived");
    expect((await fresh.get("/v1/auth/whoami")).status).toBe(401);
  });

  it("stay dead after their key is deactivated and activated again", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "key-flip" })).body.apiKey;
    const bearer = client(a.url, (await client(a.url, key).post("/v1/auth/token")).body.accessToken);
    await admin.patch("/v1/service-accounts/key-flip/api-keys/default", { active: false });
    await admin.patch("/v1/service-accounts/key-flip/api-keys/default", { active: true });
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(401);
  });

  it("issued from a retained secret expire no later than the retention", async () => {
    const { key } = (await admin.post("/v1/service-accounts", { name: "retained-token" })).body.apiKey;
    const rotated = await admin.post("/v1/service-accounts/retained-token/api-keys/default/rotate", { retainSeconds: 60 });
    const issued = (await client(a.url, key).post("/v1/auth/token")).body;
    expect(Date.parse(issued.expiresAt)).toBeLessThanOrEqual(Date.parse(rotated.body.retainedUntil));
    expect(issued.expiresIn).toBeLessThanOrEqual(60);
  });
});
