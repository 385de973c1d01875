import { createServer, type Server } from "node:http";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier, KeyledgerConnectionError } from "../../../src/client/index.js";
import { freePort } from "../../helpers/ports.js";

/**
 * A real HTTP server publishing a JWKS of keys made here, so that tokens with any claims can be
 * signed: what a daemon never issues (another issuer, a token from the future) is refused too.
 */
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const first = { kid: "firstKey00000000", pair: nacl.sign.keyPair() };
const second = { kid: "secondKey0000000", pair: nacl.sign.keyPair() };
let published = [first];
let requests = 0;
let server: Server;
let url: string;

function jwk({ kid, pair }: typeof first) {
  return { kty: "OKP", crv: "Ed25519", x: Buffer.from(pair.publicKey).toString("base64url"), kid, alg: "EdDSA", use: "sig" };
}

function sign(claims: Record<string, unknown>, key = first, header: Record<string, unknown> = {}): string {
  const signed = `${encode({ alg: "EdDSA", typ: "JWT", kid: key.kid, ...header })}.${encode(claims)}`;
  return `${signed}.${Buffer.from(nacl.sign.detached(Buffer.from(signed), key.pair.secretKey)).toString("base64url")}`;
}

const now = 1_900_000_000;
const claims = {
  iss: "keyledger",
  sub: "sa_1",
  key: "key_1",
  gen: 0,
  name: "svc",
  roles: ["verifier"],
  iat: now,
  iat_ms: now * 1000,
  exp: now + 900,
  jti: "tok_1",
};

beforeAll(async () => {
  server = createServer((request, response) => {
    requests += 1;
    if (request.url !== "/.well-known/jwks.json") return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published.map(jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("offline access token verification", () => {
  it("accepts a good token and refuses other issuers, tokens from the future and claims of the wrong shape", async () => {
    const tokens = createTokenVerifier({ url, clock: () => now * 1000 });
    expect(await tokens.verify(sign(claims))).toEqual({ valid: true, claims });
    expect(await tokens.verify(sign({ ...claims, iss: "someone-else" }))).toEqual({ valid: false, code: "wrong_issuer" });
    expect(await tokens.verify(sign({ ...claims, iat: now + 6 }))).toEqual({ valid: false, code: "not_yet_valid" });
    expect(await tokens.verify(sign({ ...claims, exp: "later" }))).toEqual({ valid: false, code: "malformed" });
    expect(await tokens.verify(sign(claims, first, { crit: ["exp"] }))).toEqual({ valid: false, code: "malformed" });
    expect(await tokens.verify(sign(claims, first, { alg: "EdDSA", kid: 7 }))).toEqual({ valid: false, code: "malformed" });
    expect(await tokens.verify(`${sign(claims)}x`)).toEqual({ valid: false, code: "bad_signature" });
  });

  it("picks up a key published after its last fetch, at most once per interval", async () => {
    published = [first];
    requests = 0;
    let clock = now * 1000;
    const tokens = createTokenVerifier({ url, clock: () => clock, jwksMinRefetchIntervalMs: 1000 });
    expect((await tokens.verify(sign(claims))).valid).toBe(true);
    published = [first, second];
    expect(await tokens.verify(sign(claims, second))).toEqual({ valid: false, code: "unknown_key" });
    expect(requests).toBe(1);
    clock += 1000;
    expect((await tokens.verify(sign(claims, second))).valid).toBe(true);
    expect(requests).toBe(2);
  });

  it("refetches the key set once it is older than its max age", async () => {
    published = [first];
    requests = 0;
    let clock = now * 1000;
    const tokens = createTokenVerifier({ url, clock: () => clock, jwksMaxAgeMs: 60_000 });
    await tokens.verify(sign(claims));
    clock += 59_999;
    await tokens.verify(sign(claims));
    expect(requests).toBe(1);
    clock += 1;
    await tokens.verify(sign(claims));
    expect(requests).toBe(2);
  });

  it("throws a connection error when no key set can be read, and refuses leeway out of range", async () => {
    const tokens = createTokenVerifier({ url: `http://127.0.0.1:${await freePort()}`, clock: () => now * 1000 });
    await expect(tokens.verify(sign(claims))).rejects.toBeInstanceOf(KeyledgerConnectionError);
    expect(() => createTokenVerifier({ url, leewaySeconds: 301 })).toThrow(RangeError);
  });
});
