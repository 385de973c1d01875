import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { auditStream } from "../src/audit/index.js";
import type { DomainEvent } from "../src/domain/index.js";
import {
  accountSubject,
  hashProblem,
  JetStreamEventStore,
  sealEvent,
  signatureProblem,
  type EventEnvelope,
} from "../src/events/index.js";
import { connectNats } from "../src/nats/index.js";
import { signerFromSeed, type Signer } from "../src/signing/index.js";
import { startTestDaemon } from "../test/helpers/daemon.js";
import { client } from "../test/helpers/http.js";
import { startTestNats, type TestNats } from "../test/helpers/nats.js";
import { opsPerSecond, printTable } from "./measure.js";

/** `KEYLEDGER_BENCH_AUDIT_EVENTS=1000000 npm run bench` measures the budget's million events. */
const EVENTS = Number(process.env.KEYLEDGER_BENCH_AUDIT_EVENTS ?? 200_000);
const ACCOUNTS = 1000;

let nats: TestNats;

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  await nats?.stop();
});

const accountId = (i: number) => `sa_${String(i).padStart(26, "0")}`;

function event(account: string, i: number): DomainEvent {
  return {
    type: "ApiKeyUpdated",
    accountId: account,
    occurredAt: new Date(1_800_000_000_000 + i).toISOString(),
    data: { keyId: `key_${String(i).padStart(26, "0")}`, description: `description ${i}` },
  };
}

/** How many envelopes the raw baseline checks (its rate is what counts; all of them would not fit in memory). */
const SAMPLE = 50_000;

/**
 * Publishes `count` chained, signed events over ACCOUNTS accounts, as fast as JetStream takes them;
 * answers the first SAMPLE of them.
 */
async function fill(store: JetStreamEventStore, signer: Signer, count: number): Promise<EventEnvelope[]> {
  const heads = new Map<string, { hash: string; version: number }>();
  const sealed: EventEnvelope[] = [];
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const account = accountId(i % ACCOUNTS);
    const head = heads.get(account);
    const envelope = sealEvent(
      event(account, i),
      {
        id: `evt_${i}`,
        actor: { kind: "system", reason: "bootstrap" },
        requestId: null,
        accountVersion: (head?.version ?? 0) + 1,
        prevHash: head?.hash ?? null,
      },
      signer,
    );
    heads.set(account, { hash: envelope.hash, version: envelope.accountVersion });
    if (sealed.length < SAMPLE) sealed.push(envelope);
    pending.push(store.jetstream.publish(accountSubject(account), JSON.stringify(envelope)));
    if (pending.length >= 2000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return sealed;
}

it(`audit verify of ${EVENTS} events against a raw loop of the same checks`, async () => {
  const nc = await connectNats(nats.url, "bench-audit");
  const signer = signerFromSeed(randomBytes(32));
  const store = await JetStreamEventStore.open(nc, signer, {
    stream: "KEYLEDGER",
    replicas: 1,
    duplicateWindowMs: 60_000,
    publishTimeoutMs: 30_000,
  });
  const keys = { publicKey: async (keyId: string) => (keyId === signer.keyId ? signer.publicKey : null) };
  const filled = performance.now();
  const sealed = await fill(store, signer, EVENTS);
  process.stdout.write(`\nfilled ${EVENTS} events in ${((performance.now() - filled) / 1000).toFixed(1)} s\n`);

  // Baseline: the same hash and signature checks over the same envelopes, in memory, in one thread.
  const rawStart = performance.now();
  for (const envelope of sealed)
    if ((hashProblem(envelope) ?? signatureProblem(envelope, signer.publicKey)) !== null) throw new Error();
  const rawRate = sealed.length / ((performance.now() - rawStart) / 1000);

  const head = await store.head();
  const start = performance.now();
  const report = await auditStream(store.messages({ fromSeq: 1, toSeq: head }), { keys, head });
  const seconds = (performance.now() - start) / 1000;
  expect(report).toMatchObject({ ok: true, checked: EVENTS });
  process.stdout.write(`audit verify of ${EVENTS} events: ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds)} events/s)\n`);

  printTable("Audit (ratio < 1: slower than the raw baseline)", [
    {
      name: `audit verify, ${EVENTS} events from JetStream`,
      opsPerSecond: EVENTS / seconds,
      baseline: "raw hash + Ed25519 verify loop in memory",
      baselineOpsPerSecond: rawRate,
    },
  ]);
  await nc.close();
}, 1_200_000);

it("signing on the write path: append with and without the Ed25519 signature", async () => {
  const nc = await connectNats(nats.url, "bench-signing");
  const real = signerFromSeed(randomBytes(32));
  const unsigned: Signer = { keyId: real.keyId, publicKey: real.publicKey, sign: () => new Uint8Array(64) };
  const options = { stream: "KEYLEDGER", replicas: 1, duplicateWindowMs: 60_000, publishTimeoutMs: 30_000 };
  const signed = await JetStreamEventStore.open(nc, real, options);
  const plain = await JetStreamEventStore.open(nc, unsigned, options);
  let n = 0;
  const appendWith = (store: JetStreamEventStore) => async () => {
    const account = accountId(ACCOUNTS + (n++ % 100_000));
    const expectedSeq = await store.lastSequenceOfAccount(account);
    await store.append(account, { expectedSeq, prevHash: null, version: 0 }, [event(account, n)], {
      actor: { kind: "system", reason: "bootstrap" },
      requestId: null,
      newEventId: () => `evt_b${n}`,
    });
  };
  // Interleaved, so that drift on a noisy machine hits both sides.
  const withSignature: number[] = [];
  const without: number[] = [];
  for (let round = 0; round < 3; round++) {
    without.push(await opsPerSecond(appendWith(plain), 1000));
    withSignature.push(await opsPerSecond(appendWith(signed), 1000));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
  printTable("Write path (target: signing costs at most 10%, a ratio of 0.9 or more)", [
    {
      name: "append with Ed25519 signature (node:crypto)",
      opsPerSecond: median(withSignature),
      baseline: "the same append, signature left out",
      baselineOpsPerSecond: median(without),
    },
  ]);
  await nc.close();
});

it("signing on the HTTP write path: PATCH with read-your-writes, with and without the Ed25519 signature", async () => {
  const real = signerFromSeed(randomBytes(32));
  const unsigned: Signer = { keyId: real.keyId, publicKey: real.publicKey, sign: () => new Uint8Array(64) };
  const natsA = await startTestNats();
  const natsB = await startTestNats();
  const settings = { "log-level": "silent", "checkpoint-interval-ms": "0" };
  const signed = await startTestDaemon(natsA.url, settings, { signer: real });
  const plain = await startTestDaemon(natsB.url, settings, { signer: unsigned });
  try {
    const prepare = async (daemon: typeof signed) => {
      const admin = client(daemon.url, await daemon.adminKey());
      for (let i = 0; i < 32; i++) expect((await admin.post("/v1/service-accounts", { name: `w${i}` })).status).toBe(201);
      let n = 0;
      /** `concurrency` PATCHes at once, each on its own account; answers writes per second. */
      return async (concurrency: number): Promise<number> => {
        const ms = 1500;
        const end = performance.now() + ms;
        let done = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async (_, lane) => {
            while (performance.now() < end) {
              const answer = await admin.patch(`/v1/service-accounts/w${lane}`, { description: `d${n++}` });
              if (answer.status !== 200) throw new Error(`PATCH answered ${answer.status}`);
              done++;
            }
          }),
        );
        return (done * 1000) / ms;
      };
    };
    const withSignature = await prepare(signed);
    const without = await prepare(plain);
    const rows = [];
    for (const concurrency of [1, 32]) {
      const a: number[] = [];
      const b: number[] = [];
      // Five rounds, the order alternating, so that drift on a noisy machine hits both sides alike.
      for (let round = 0; round < 5; round++) {
        if (round % 2 === 0) b.push(await without(concurrency));
        a.push(await withSignature(concurrency));
        if (round % 2 === 1) b.push(await without(concurrency));
      }
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[2]!;
      rows.push({
        name: `PATCH, concurrency ${concurrency}, signed`,
        opsPerSecond: median(a),
        baseline: "the same daemon, signature left out",
        baselineOpsPerSecond: median(b),
      });
    }
    printTable("HTTP write path (target: signing costs at most 10%, a ratio of 0.9 or more)", rows);
  } finally {
    await signed.stop();
    await plain.stop();
    await natsA.stop();
    await natsB.stop();
  }
}, 300_000);
