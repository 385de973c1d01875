import { createHash, randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditStream } from "../../src/audit/index.js";
import { type JetStreamEventStore } from "../../src/events/index.js";
import { sealCheckpoint, sealEvent, signedBytes } from "../../src/format/index.js";
import { connectNats } from "../../src/nats/index.js";
import { signerFromSeed } from "../../src/signing/index.js";
import { appendBulkHistory } from "../helpers/bulk-history.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { anchoredOn } from "../helpers/trust.js";
import { newSigner, openStore } from "./support.js";

let nats: TestNats;
let nc: NatsConnection;
let store: JetStreamEventStore;
const signer = newSigner();
const trust = anchoredOn(signer);

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "stream-audit");
  store = await openStore(nc, "KEYLEDGER", signer);
  await appendBulkHistory(store, { accounts: 20, eventsPerAccount: 30 });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const audit = async (workersFrom: number) => {
  const head = await store.head();
  return auditStream(store.messages({ fromSeq: 1, toSeq: head }), { trust, head, workersFrom });
};

describe("the stream auditor", () => {
  it("gives the same report with signatures checked in worker threads as in this thread", async () => {
    const clean = await audit(0);
    expect(clean).toMatchObject({ ok: true, checked: 600, problems: [] });
    expect(await audit(Number.POSITIVE_INFINITY)).toEqual(clean);

    // A valid-looking event of an existing account, signed by a key the ledger never enrolled, and one
    // whose signature is someone else's: both reported at their sequences, by both paths.
    const [victim] = await store.read("kl.acct.*", 1, 1);
    const outsider = signerFromSeed(randomBytes(32));
    const forged = sealEvent(
      {
        type: "ApiKeyDeleted",
        accountId: victim!.accountId,
        occurredAt: new Date().toISOString(),
        data: { keyId: "key_x" },
      } as never,
      {
        id: "evt_forged",
        actor: { kind: "system", reason: "scheduler" },
        requestId: null,
        accountVersion: 31,
        prevHash: "0".repeat(64),
      },
      outsider,
    );
    const unknownKey = (await store.jetstream.publish(`kl.acct.${victim!.accountId}`, JSON.stringify(forged))).seq;
    // The daemon's key id, the content's own hash, the outsider's signature.
    const claimed = { ...forged, signingKeyId: signer.keyId };
    const rehashed = { ...claimed, hash: createHash("sha256").update(signedBytes(claimed)).digest("hex") };
    const badSignature = (await store.jetstream.publish(`kl.acct.${victim!.accountId}`, JSON.stringify(rehashed))).seq;
    // ...and a checkpoint claiming a digest the stream does not have.
    const position = { seq: badSignature, count: 602, digest: "f".repeat(64) };
    const wrongDigest = (
      await store.jetstream.publish(
        "kl.checkpoint",
        JSON.stringify(sealCheckpoint(position, null, new Date().toISOString(), signer, null, { after: 0, seqs: [] })),
      )
    ).seq;

    const inWorkers = await audit(0);
    expect(inWorkers.ok).toBe(false);
    expect(inWorkers.problems.map((problem) => problem.seq)).toEqual([unknownKey, badSignature, wrongDigest]);
    expect(inWorkers.problems[0]).toMatchObject({ code: "untrusted_signer", kid: outsider.keyId });
    expect(inWorkers.problems[0]!.reason).toMatch(/never enrolled/);
    expect(inWorkers.problems[1]!.reason).toMatch(/signature does not verify/);
    expect(inWorkers.problems[2]!.reason).toMatch(/do not match this checkpoint's digest/);
    expect(await audit(Number.POSITIVE_INFINITY)).toEqual(inWorkers);
  });
});
