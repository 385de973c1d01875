import { createHash, randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamEventStore } from "../../../src/events/index.js";
import {
  accountSubject,
  CHECKPOINT_SUBJECT,
  decodeCheckpoint,
  decodeEnvelope,
  EVENT_SUBJECT_PREFIX,
  sealEvent,
  signedBytes,
  type EventEnvelope,
  type StreamCheckpoint,
} from "../../../src/format/index.js";
import { connectNats } from "../../../src/nats/index.js";
import { signerFromSeed } from "../../../src/signing/index.js";
import { appendBulkHistory } from "../../helpers/bulk-history.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";
import {
  copySigningKeys,
  createKeyledgerStream,
  publishCopy,
  readStoredMessages,
  type StoredMessage,
} from "../../helpers/stream-copy.js";

interface Problem {
  readonly seq: number;
  readonly reason: string;
}
interface Report {
  readonly ok: boolean;
  readonly checked: number;
  readonly head: number;
  readonly problems: Problem[];
  readonly truncated: boolean;
  readonly checkpoints: { readonly checked: number; readonly coveredEvents: number };
}

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;
let nc: NatsConnection;
const ids: Record<string, string> = {};

/** The untouched stream as an attacker with a backup of it holds it, message by message. */
let original: StoredMessage[];
const isEvent = (message: StoredMessage): boolean => message.subject.startsWith(`${EVENT_SUBJECT_PREFIX}.`);
const isCheckpoint = (message: StoredMessage): boolean => message.subject === CHECKPOINT_SUBJECT;
const envelopeOf = (message: StoredMessage): EventEnvelope => decodeEnvelope(message.data);
const checkpointOf = (message: StoredMessage): StreamCheckpoint => decodeCheckpoint(message.data);
const eventsOf = (accountId: string): StoredMessage[] =>
  original.filter((message) => isEvent(message) && envelopeOf(message).accountId === accountId);
/** How many event messages precede a message of the original stream (its 0-based event index). */
const eventIndexOf = (message: StoredMessage): number => original.filter(isEvent).indexOf(message);

async function ok<T = any>(answer: Promise<{ status: number; body: T }>, status = 200): Promise<T> {
  const { status: got, body } = await answer;
  expect(got, JSON.stringify(body)).toBe(status);
  return body;
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "100" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  nc = await connectNats(nats.url, "intruder");
  ids.admin = (await ok(admin.get("/v1/auth/whoami"))).serviceAccount.id;

  // A real history, interleaved across accounts: keys, rotations, (de)activations, deletions.
  for (const name of ["alpha", "beta", "gamma", "delta"]) {
    ids[name] = (await ok(admin.post("/v1/service-accounts", { name, roles: ["verifier"] }), 201)).serviceAccount.id;
  }
  await ok(admin.post("/v1/service-accounts/alpha/api-keys", { name: "deploy" }), 201);
  await ok(admin.post("/v1/service-accounts/beta/api-keys", { name: "ci" }), 201);
  await ok(admin.post("/v1/service-accounts/alpha/api-keys/default/rotate", { retainSeconds: 0 }));
  await ok(admin.post("/v1/service-accounts/beta/api-keys/ci/rotate", { retainSeconds: 3600 }));
  await ok(admin.patch("/v1/service-accounts/gamma/api-keys/default", { active: false }));
  await ok(admin.patch("/v1/service-accounts/alpha", { description: "the first" }));
  await ok(admin.post("/v1/service-accounts/beta/api-keys/ci/rotate", { retainSeconds: 3600 }));
  await ok(admin.patch("/v1/service-accounts/delta", { active: false }));
  await ok(admin.delete("/v1/service-accounts/gamma/api-keys/default"), 204);
  await ok(admin.patch("/v1/service-accounts/alpha/api-keys/deploy", { active: false }));
  await ok(admin.patch("/v1/service-accounts/delta", { active: true }));
  await ok(admin.post("/v1/service-accounts/alpha/api-keys/deploy/rotate", { retainSeconds: 0 }));
  await ok(admin.patch("/v1/service-accounts/beta", { description: "the second" }));

  // Wait for a checkpoint that covers every event.
  await waitUntil(
    async () => (await daemon.store.lastCheckpoint())?.checkpoint?.upToSeq === (await daemon.store.lastEventSequence()),
    15_000,
  );
  original = await readStoredMessages(nc, "KEYLEDGER");
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await daemon?.stop();
  await nats?.stop();
});

/**
 * Copies the stream, rewritten as `rewrite` says, with the signing keys onto a second nats-server,
 * starts a daemon there (it projects the copy) and asks it `GET /v1/audit/verify`. Answers the
 * report and the sequence each message got in the copy.
 */
async function auditCopy(rewrite: (messages: StoredMessage[]) => StoredMessage[]): Promise<{
  report: Report;
  copySeqOf: (message: StoredMessage) => number;
}> {
  const second = await startTestNats();
  let copyDaemon: TestDaemon | undefined;
  const target = await connectNats(second.url, "restorer");
  try {
    await createKeyledgerStream(await jetstreamManager(target));
    expect(await copySigningKeys(nc, target)).toBeGreaterThan(0);
    const copied = rewrite([...original]);
    const seqs = await publishCopy(target, copied);
    // No checkpoints of its own: the copy's checkpoints are exactly the original's.
    copyDaemon = await startTestDaemon(second.url, { "checkpoint-interval-ms": "0" });
    const report = await ok<Report>(client(copyDaemon.url, adminKey).get("/v1/audit/verify"));
    return {
      report,
      copySeqOf: (message) => {
        const index = copied.indexOf(message);
        if (index < 0) throw new Error("that message is not in the copy");
        return seqs[index]!;
      },
    };
  } finally {
    await target.close();
    await copyDaemon?.stop();
    await second.stop();
  }
}

/** The first checkpoint of the original stream that covers the event message at `eventIndex`. */
function firstCheckpointCovering(eventIndex: number): StoredMessage {
  const checkpoint = original.find((message) => isCheckpoint(message) && checkpointOf(message).eventCount > eventIndex);
  expect(checkpoint, `no checkpoint covers event message #${eventIndex + 1}`).toBeDefined();
  return checkpoint!;
}

describe("the history the tests tamper with", () => {
  it("verifies clean on the live daemon, every event covered by a checkpoint", async () => {
    const events = original.filter(isEvent);
    const checkpoints = original.filter(isCheckpoint);
    expect(events.length).toBeGreaterThanOrEqual(20);
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expect(checkpointOf(checkpoints.at(-1)!).eventCount).toBe(events.length);
    expect(original.some((message) => message.subject.startsWith("kl.name."))).toBe(true);

    const report = await ok<Report>(admin.get("/v1/audit/verify"));
    expect(report).toMatchObject({ ok: true, problems: [], truncated: false });
    expect(report.checked).toBe(events.length);
    expect(report.checkpoints).toEqual({ checked: checkpoints.length, coveredEvents: events.length });
  });
});

describe("a copy of the stream (a restored or rewritten backup), audited by a daemon on it", () => {
  it("untouched: verifies clean, so the copy procedure itself changes nothing", async () => {
    const { report, copySeqOf } = await auditCopy((messages) => messages);
    for (const message of original) expect(copySeqOf(message)).toBe(message.seq);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toBe(original.filter(isEvent).length);
    expect(report.checkpoints).toEqual({
      checked: original.filter(isCheckpoint).length,
      coveredEvents: original.filter(isEvent).length,
    });
  }, 30_000);

  it("an event removed from the middle of an account's history: the next event of that account is reported", async () => {
    const alpha = eventsOf(ids.alpha!);
    expect(alpha.length).toBeGreaterThanOrEqual(5);
    const removed = alpha[2]!;
    const next = alpha[3]!;
    const { report, copySeqOf } = await auditCopy((messages) => messages.filter((message) => message !== removed));

    expect(report.ok).toBe(false);
    const eventProblems = report.problems.filter(
      (problem) => !original.some((m) => isCheckpoint(m) && copySeqOf(m) === problem.seq),
    );
    expect(eventProblems).toEqual([
      { seq: copySeqOf(next), code: "chain_broken", reason: expect.stringContaining(`breaks the chain of ${ids.alpha}`) },
    ]);
    expect(eventProblems[0]!.reason).toContain("removed");
    // The checkpoints after it no longer match either.
    expect(report.problems).toContainEqual({
      seq: copySeqOf(firstCheckpointCovering(eventIndexOf(removed))),
      code: expect.stringMatching(/^checkpoint_/),
      reason: expect.stringMatching(/checkpoint.*removed|removed.*checkpoint/),
    });
  }, 30_000);

  it("the last event of an account removed (no chain sees it): the checkpoint that covered it is reported", async () => {
    // gamma's last event is followed by other accounts' events, so the removal is not at the stream's end.
    const gamma = eventsOf(ids.gamma!);
    const removed = gamma.at(-1)!;
    expect(envelopeOf(removed).type).toBe("ApiKeyDeleted");
    expect(eventIndexOf(removed)).toBeLessThan(original.filter(isEvent).length - 1);
    const { report, copySeqOf } = await auditCopy((messages) => messages.filter((message) => message !== removed));

    expect(report.ok).toBe(false);
    const checkpoint = firstCheckpointCovering(eventIndexOf(removed));
    expect(report.problems[0]).toEqual({
      seq: copySeqOf(checkpoint),
      code: "checkpoint_digest_mismatch",
      reason: expect.stringContaining("removed"),
    });
    expect(report.problems[0]!.reason).toContain("checkpoint");
    // Every problem is a checkpoint: the per-account chains are all intact.
    const checkpointSeqs = original.filter((message) => message !== removed && isCheckpoint(message)).map(copySeqOf);
    for (const problem of report.problems) expect(checkpointSeqs).toContain(problem.seq);
    expect(report.checked).toBe(original.filter(isEvent).length - 1);
  }, 30_000);

  it("two events of one account swapped: reported where the chain breaks", async () => {
    const beta = eventsOf(ids.beta!);
    const [first, second] = [beta[2]!, beta[3]!];
    const { report, copySeqOf } = await auditCopy((messages) =>
      messages.map((message) => (message === first ? second : message === second ? first : message)),
    );

    expect(report.ok).toBe(false);
    // `second` now sits where `first` was: it is the first to break beta's chain.
    expect(copySeqOf(second)).toBe(first.seq);
    const firstProblem = report.problems.find((problem) => problem.reason.includes(`breaks the chain of ${ids.beta}`));
    expect(firstProblem).toEqual({ seq: copySeqOf(second), code: "chain_broken", reason: expect.stringContaining("reordered") });
    expect(report.problems.map((problem) => problem.seq)).toContain(copySeqOf(first));
    expect(report.problems).toContainEqual({
      seq: copySeqOf(firstCheckpointCovering(eventIndexOf(first))),
      code: "checkpoint_digest_mismatch",
      reason: expect.stringContaining("do not match this checkpoint's digest"),
    });
  }, 30_000);

  it("two events of different accounts swapped (each chain still fine): reported by the checkpoint digest", async () => {
    // Two neighbouring event messages of different accounts with no checkpoint between them.
    const events = original.filter(isEvent);
    let pair: [StoredMessage, StoredMessage] | undefined;
    for (let i = 1; i < events.length && pair === undefined; i++) {
      const [a, b] = [events[i - 1]!, events[i]!];
      const between = original.filter((message) => message.seq > a.seq && message.seq < b.seq);
      if (envelopeOf(a).accountId !== envelopeOf(b).accountId && !between.some(isCheckpoint)) pair = [a, b];
    }
    expect(pair, "no two neighbouring events of different accounts").toBeDefined();
    const [first, second] = pair!;
    const { report, copySeqOf } = await auditCopy((messages) =>
      messages.map((message) => (message === first ? second : message === second ? first : message)),
    );

    expect(report.ok).toBe(false);
    const checkpoint = firstCheckpointCovering(eventIndexOf(first));
    expect(report.problems[0]).toEqual({
      seq: copySeqOf(checkpoint),
      code: "checkpoint_digest_mismatch",
      reason: expect.stringContaining("do not match this checkpoint's digest"),
    });
    expect(report.problems[0]!.reason).toContain("reordered");
    const checkpointSeqs = original.filter(isCheckpoint).map(copySeqOf);
    for (const problem of report.problems) expect(checkpointSeqs).toContain(problem.seq);
    expect(report.checked).toBe(events.length);
  }, 30_000);
});

describe("removals the checkpoints themselves must show", () => {
  it("a checkpoint removed from the middle: the next checkpoint no longer follows it", async () => {
    const checkpoints = original.filter(isCheckpoint);
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);
    const removed = checkpoints[1]!;
    const { report, copySeqOf } = await auditCopy((messages) => messages.filter((message) => message !== removed));
    expect(report.problems).toEqual([
      {
        seq: copySeqOf(checkpoints[2]!),
        code: "checkpoint_chain_broken",
        reason: expect.stringContaining("does not follow the previous checkpoint"),
      },
    ]);
  }, 30_000);

  it("the stream's tail removed with the checkpoints that covered it: a daemon whose read model saw it reports it", async () => {
    const second = await startTestNats();
    const target = await connectNats(second.url, "restorer");
    let copyDaemon: TestDaemon | undefined;
    try {
      const jsm = await jetstreamManager(target);
      await createKeyledgerStream(jsm);
      await publishCopy(target, original);
      // A daemon on the copy builds its read model from every event.
      copyDaemon = await startTestDaemon(second.url, { "checkpoint-interval-ms": "0" });
      const lastEvent = original.filter(isEvent).at(-1)!;
      expect(copyDaemon.projector.position).toBe(original.at(-1)!.seq);

      // While it runs, the stream is replaced by a copy that ends before the last event (and the checkpoints after it).
      await jsm.streams.delete("KEYLEDGER");
      await createKeyledgerStream(jsm);
      const truncated = original.filter((message) => message.seq < lastEvent.seq);
      expect(truncated.some(isCheckpoint)).toBe(true);
      await publishCopy(target, truncated);

      const report = await ok<Report>(client(copyDaemon.url, adminKey).get("/v1/audit/verify"));
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        { seq: lastEvent.seq, code: "read_model_mismatch", reason: expect.stringContaining("events were removed") },
      ]);
      expect(report.checked).toBe(original.filter(isEvent).length - 1);
      // And the daemon no longer calls itself ready, saying why.
      const daemonUrl = copyDaemon.url;
      await waitUntil(async () => (await client(daemonUrl).get("/readyz")).status === 503, 10_000, 100);
      const readiness = (await client(daemonUrl).get("/readyz")).body;
      expect(readiness.checks).toMatchObject({ stream: false });
      expect(readiness.problem).toContain("behind this daemon's read model");
    } finally {
      await target.close();
      await copyDaemon?.stop();
      await second.stop();
    }
  }, 30_000);
});

describe("the live stream, written to by an attacker with NATS write access", () => {
  const publish = async (subject: string, envelope: unknown): Promise<number> =>
    (await jetstream(nc).publish(subject, JSON.stringify(envelope))).seq;

  it("reports a forged event, a mis-signed one, and altered copies of real events, each at its sequence", async () => {
    const lastAlpha = envelopeOf(eventsOf(ids.alpha!).at(-1)!);
    const daemonKeyId = lastAlpha.signingKeyId;
    const forge = (signingKeyId?: string): EventEnvelope => {
      const signer = signerFromSeed(randomBytes(32));
      const sealed = sealEvent(
        {
          type: "ServiceAccountUpdated",
          accountId: ids.alpha!,
          occurredAt: new Date().toISOString(),
          data: { roles: ["admin"] },
        },
        {
          id: `evt_${randomBytes(8).toString("hex")}`,
          actor: lastAlpha.actor,
          requestId: null,
          accountVersion: lastAlpha.accountVersion + 1,
          prevHash: lastAlpha.hash,
        },
        signingKeyId === undefined ? signer : { ...signer, keyId: signingKeyId },
      );
      return sealed;
    };
    // (1) a valid-looking event that follows alpha's chain, signed by a key no daemon registered
    const unregistered = forge();
    const unregisteredSeq = await publish(accountSubject(ids.alpha!), unregistered);
    // (1') the same, claiming the daemon's key id but signed by another key
    const misSigned = await publish(accountSubject(ids.alpha!), forge(daemonKeyId));
    // (2) a real event of beta with its data changed, hash kept
    const real = envelopeOf(eventsOf(ids.beta!)[1]!);
    expect(real.type).toBe("ApiKeyCreated");
    const changed = { ...real, data: { ...(real.data as object), name: "attacker" } } as EventEnvelope;
    const hashKept = await publish(accountSubject(ids.beta!), changed);
    // (2') the same with its hash recomputed, signature kept
    const rehashed = { ...changed, hash: createHash("sha256").update(signedBytes(changed)).digest("hex") };
    const signatureKept = await publish(accountSubject(ids.beta!), rehashed);

    const report = await ok<Report>(admin.get("/v1/audit/verify"));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        seq: unregisteredSeq,
        code: "untrusted_signer",
        kid: unregistered.signingKeyId,
        reason: expect.stringContaining(`signed by key ${unregistered.signingKeyId}, which the ledger never enrolled`),
      },
      { seq: misSigned, code: "bad_signature", reason: expect.stringContaining("signature does not verify") },
      { seq: hashKept, code: "hash_mismatch", reason: expect.stringContaining("hash does not match the event") },
      { seq: signatureKept, code: "bad_signature", reason: expect.stringContaining("signature does not verify") },
    ]);
    expect(report.head).toBeGreaterThanOrEqual(signatureKept);

    // The same report as progress lines (NDJSON), ending with the report.
    const response = await fetch(`${daemon.url}/v1/audit/verify`, {
      headers: { authorization: `Bearer ${adminKey}`, accept: "application/x-ndjson" },
    });
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.at(-1).report.problems.map((problem: Problem) => problem.seq)).toEqual([
      unregisteredSeq,
      misSigned,
      hashKept,
      signatureKept,
    ]);
  }, 30_000);
});

describe("an untouched stream of 10,000 events", () => {
  it("verifies clean, every event checked and covered by a checkpoint", async () => {
    const started = Date.now();
    const big = await startTestNats();
    const bulkConnection = await connectNats(big.url, "bulk-writer");
    let bigDaemon: TestDaemon | undefined;
    try {
      bigDaemon = await startTestDaemon(big.url, { "checkpoint-interval-ms": "200" });
      // Another daemon's signing key, approved by an admin before it writes anything.
      const signer = signerFromSeed(randomBytes(32));
      const bigAdmin = client(bigDaemon.url, await bigDaemon.adminKey());
      const approved = await bigAdmin.post(`/v1/signing-keys/${signer.keyId}/approve`, {
        publicKey: Buffer.from(signer.publicKey).toString("base64url"),
      });
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      const store = await JetStreamEventStore.open(bulkConnection, signer, {
        stream: "KEYLEDGER",
        replicas: 1,
        duplicateWindowMs: 120_000,
        publishTimeoutMs: 5000,
      });
      const { appended } = await appendBulkHistory(store, { accounts: 50, eventsPerAccount: 200 });
      expect(appended).toBe(10_000);
      const appendedAt = Date.now();
      const lastEvent = await store.lastEventSequence();
      await waitUntil(() => bigDaemon!.projector.position >= lastEvent, 45_000, 100);
      await waitUntil(async () => (await store.lastCheckpoint())?.checkpoint?.upToSeq === lastEvent, 10_000);
      const projectedAt = Date.now();

      const report = await ok<Report>(client(bigDaemon.url, await bigDaemon.adminKey()).get("/v1/audit/verify"));
      const verifiedAt = Date.now();
      console.log(
        `10,000 events: appended in ${appendedAt - started} ms, projected and checkpointed after ${projectedAt - appendedAt} ms, verified in ${verifiedAt - projectedAt} ms`,
      );
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checked).toBeGreaterThanOrEqual(10_000);
      expect(report.checked).toBe(appended + 2); // and the bootstrap's admin account and key
      expect(report.checkpoints.coveredEvents).toBe(report.checked);
      expect(report.checkpoints.checked).toBeGreaterThanOrEqual(1);
    } finally {
      await bulkConnection.close();
      await bigDaemon?.stop();
      await big.stop();
    }
  }, 90_000);
});
