import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey, formatApiKey } from "../../src/domain/index.js";
import { accountSubject, sealEvent, type EventEnvelope } from "../../src/format/index.js";
import { connectNats } from "../../src/nats/index.js";
import { signerFromSeed } from "../../src/signing/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { allEvents } from "../helpers/stream.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let nc: NatsConnection;
let adminId: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
  nc = await connectNats(nats.url, "intruder");
  adminId = (await admin.get("/v1/auth/whoami")).body.serviceAccount.id;
});

afterAll(async () => {
  await nc?.close();
  await daemon?.stop();
  await nats?.stop();
});

/** An attacker's own key for the admin account, as an ApiKeyCreated that follows the admin's chain. */
function forgedKeyEvent(
  last: EventEnvelope,
  signWith = signerFromSeed(randomBytes(32)),
): { envelope: EventEnvelope; key: string } {
  const keyId = "key_01ATTACKER0000000000000000";
  const key = formatApiKey(keyId, randomBytes(32));
  const envelope = sealEvent(
    {
      type: "ApiKeyCreated",
      accountId: adminId,
      occurredAt: new Date().toISOString(),
      data: {
        keyId,
        name: `intruder-${randomBytes(3).toString("hex")}`,
        description: "",
        expiresAt: null,
        secretHash: hashApiKey(key),
        hint: "x",
      },
    },
    {
      id: `evt_${randomBytes(8).toString("hex")}`,
      actor: { kind: "system", reason: "bootstrap" },
      requestId: null,
      accountVersion: last.accountVersion + 1,
      prevHash: last.hash,
    },
    signWith,
  );
  return { envelope, key };
}

async function lastAdminEvent(): Promise<EventEnvelope> {
  return (await allEvents(daemon.store)).filter((event) => event.accountId === adminId).at(-1)!;
}

async function publishRaw(data: string): Promise<number> {
  const { jetstream } = await import("@nats-io/jetstream");
  return (await jetstream(nc).publish(accountSubject(adminId), data)).seq;
}

describe("messages that did not come from a keyledger daemon", () => {
  it("are not applied: a key signed by an unregistered key, a tampered event, and garbage", async () => {
    const unsigned = forgedKeyEvent(await lastAdminEvent());
    const seqs = [await publishRaw(JSON.stringify(unsigned.envelope))];
    // Sealed by the daemon's own key, then altered: only its hash gives it away.
    const tampered = forgedKeyEvent(await lastAdminEvent(), daemon.signer);
    seqs.push(await publishRaw(JSON.stringify({ ...tampered.envelope, data: { ...tampered.envelope.data, name: "renamed" } })));
    seqs.push(await publishRaw("not json at all"));
    // The trust root answers at once: a key the ledger never enrolled never counts.
    await waitUntil(() => daemon.projector.position >= seqs.at(-1)!, 10_000);

    for (const key of [unsigned.key, tampered.key]) {
      expect((await client(daemon.url, key).get("/v1/auth/whoami")).status).toBe(401);
    }
    const skipped = await daemon.readModel.skipped();
    expect(skipped.map((entry) => entry.seq)).toEqual(seqs);
    expect(skipped[0]).toMatchObject({ code: "untrusted_signer", kid: unsigned.envelope.signingKeyId });
    expect(skipped[0]!.reason).toContain("never enrolled");
    expect(skipped[1]!.reason).toContain("hash");
  }, 60_000);

  it("do not wedge the account: the next real change appends after them and keeps the chain", async () => {
    const updated = await admin.patch("/v1/service-accounts/admin", { description: "still works" });
    expect(updated.status).toBe(200);
    const events = (await allEvents(daemon.store)).filter(
      (event) => event.accountId === adminId && event.type === "ServiceAccountUpdated",
    );
    const real = events.at(-1)!;
    expect(real.accountVersion).toBe(updated.body.version);
    expect((await admin.get("/v1/service-accounts/admin")).body.apiKeys.map((key: { name: string }) => key.name)).toEqual([
      "default",
    ]);
  });
});
