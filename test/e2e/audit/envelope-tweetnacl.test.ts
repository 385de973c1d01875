import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { approveAll } from "../../helpers/trust.js";
import { client, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let a: TestDaemon;
let b: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  a = await startTestDaemon(nats.url); // the one that bootstraps, and so holds admin.key
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

/** The README's canonical JSON, written again here with no keyledger code. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

describe("events as an auditor reads them over HTTP", () => {
  it("verify with tweetnacl against the JWKS, written by two daemons, following the README byte for byte", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "signed-by-two" });
    expect(created.status).toBe(201);
    const onB = client(b.url, await a.adminKey());
    expect((await onB.post(`/v1/service-accounts/signed-by-two/api-keys/default/rotate`, { retainSeconds: 30 })).status).toBe(
      200,
    );
    expect((await admin.patch(`/v1/service-accounts/signed-by-two`, { active: false })).status).toBe(200);

    const jwks = (await fetch(`${a.url}/.well-known/jwks.json`).then((r) => r.json())) as {
      keys: Array<{ kid: string; x: string; crv: string }>;
    };
    const keys = new Map(jwks.keys.map((key) => [key.kid, new Uint8Array(Buffer.from(key.x, "base64url"))]));
    const events = (await admin.get("/v1/events?limit=1000")).body.items as Array<Record<string, unknown>>;
    expect(events.length).toBeGreaterThanOrEqual(6);
    expect(new Set(events.map((event) => event.signingKeyId)).size).toBe(2);

    const heads = new Map<string, string>();
    for (const { seq: _seq, ...event } of events) {
      const { hash, signature, ...signed } = event;
      const bytes = new TextEncoder().encode(canonical(signed));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(hash);
      const publicKey = keys.get(String(event.signingKeyId));
      expect(publicKey, `key ${String(event.signingKeyId)} in the JWKS`).toBeDefined();
      expect(nacl.sign.detached.verify(bytes, new Uint8Array(Buffer.from(String(signature), "base64url")), publicKey!)).toBe(
        true,
      );
      expect(event.prevHash).toBe(heads.get(String(event.accountId)) ?? null);
      heads.set(String(event.accountId), String(hash));
    }
  });
});
