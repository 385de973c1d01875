import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOCATION_EVENT_TYPES } from "../../src/domain/index.js";
import { SOURCE_SEQ_HEADER } from "../../src/events/index.js";
import { decodeEnvelope } from "../../src/format/index.js";
import { connectNats } from "../../src/nats/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { approveAll } from "../helpers/trust.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { allEvents } from "../helpers/stream.js";

let nats: TestNats;
let a: TestDaemon;
let b: TestDaemon;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNats();
  [a, b] = await Promise.all([startTestDaemon(nats.url), startTestDaemon(nats.url)]);
  // Each made its own key; the one that lost the genesis signs once an admin approved it.
  await approveAll(await a.adminKey().catch(() => b.adminKey()), a, b);
  nc = await connectNats(nats.url, "subscriber");
});

afterAll(async () => {
  await nc?.close();
  await a?.stop();
  await b?.stop();
  await nats?.stop();
});

/** What a subscriber sees with a subject filter alone, from a feed sequence on. */
async function follow(
  filter: string,
  fromSeq = 1,
): Promise<Array<{ seq: number; subject: string; id: string; type: string; sourceSeq: number }>> {
  const js = jetstream(nc);
  const stream = "KEYLEDGER_REVOCATIONS";
  const last = await (await jetstreamManager(nc)).streams.getMessage(stream, { last_by_subj: filter });
  const lastSeq = last?.seq ?? 0;
  const seen: Array<{ seq: number; subject: string; id: string; type: string; sourceSeq: number }> = [];
  if (lastSeq < fromSeq) return seen;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  const messages = await consumer.consume();
  for await (const message of messages) {
    const envelope = decodeEnvelope(message.data);
    seen.push({
      seq: message.seq,
      subject: message.subject,
      id: envelope.id,
      type: envelope.type,
      sourceSeq: Number(message.headers?.get(SOURCE_SEQ_HEADER)),
    });
    if (message.seq >= lastSeq) break;
  }
  await messages.close();
  return seen;
}

describe("the revocation feed", () => {
  it("holds every revocation exactly once, in order, on subjects a filter can select, with two daemons relaying", async () => {
    // Either daemon may have won the bootstrap; its key works on both.
    const adminA = client(a.url, await a.adminKey().catch(() => b.adminKey()));
    await waitUntil(async () => (await adminA.get("/v1/auth/whoami")).status === 200);
    const created = await adminA.post("/v1/service-accounts", { name: "feed" });
    const accountId: string = created.body.serviceAccount.id;
    await adminA.post("/v1/service-accounts/feed/api-keys", { name: "second" });
    await adminA.patch("/v1/service-accounts/feed/api-keys/second", { description: "not a revocation" });
    await adminA.post("/v1/service-accounts/feed/api-keys/default/rotate", { retainSeconds: 0 });
    await adminA.patch("/v1/service-accounts/feed/api-keys/second", { active: false });
    await adminA.delete("/v1/service-accounts/feed/api-keys/default");
    await adminA.patch("/v1/service-accounts/feed", { active: false });
    await adminA.patch("/v1/service-accounts/feed", { active: true });
    await adminA.delete("/v1/service-accounts/feed");

    const revocations = (await allEvents(a.store)).filter(
      (event) => event.accountId === accountId && REVOCATION_EVENT_TYPES.has(event.type),
    );
    expect(revocations.map((event) => event.type)).toEqual([
      "ApiKeyRotated",
      "ApiKeyDeactivated",
      "ApiKeyDeleted",
      "ServiceAccountDeactivated",
      "ServiceAccountDeleted",
    ]);
    await waitUntil(() => a.relay.position >= revocations.at(-1)!.seq && b.relay.position >= revocations.at(-1)!.seq);

    const feed = (await follow("kl.revoked.>")).filter((entry) => entry.subject.startsWith(`kl.revoked.${accountId}.`));
    expect(feed.map((entry) => entry.id)).toEqual(revocations.map((event) => event.id));
    expect(feed.map((entry) => entry.sourceSeq)).toEqual(revocations.map((event) => event.seq));
    expect(feed.every((entry) => entry.subject === `kl.revoked.${accountId}.${entry.type}`)).toBe(true);

    // one event type alone, by its subject
    const deletions = await follow("kl.revoked.*.ServiceAccountDeleted");
    expect(deletions.map((entry) => entry.id)).toContain(revocations.at(-1)!.id);
    expect(deletions.every((entry) => entry.type === "ServiceAccountDeleted")).toBe(true);

    // a subscriber that was away catches up from the last feed sequence it saw
    const resumed = await follow("kl.revoked.>", feed[2]!.seq + 1);
    expect(resumed.map((entry) => entry.id)).toEqual(feed.slice(3).map((entry) => entry.id));
  });
});
