import { randomBytes } from "node:crypto";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Level } from "level";
import { auditStream } from "../../src/audit/index.js";
import { JetStreamEventStore } from "../../src/events/index.js";
import {
  ALL_EVENTS_FILTER,
  decodeEnvelope,
  hashProblem,
  KEYS_SUBJECT,
  signatureProblem,
  type EventEnvelope,
} from "../../src/format/index.js";
import { connectNats } from "../../src/nats/index.js";
import { loadSigner, signerFromSeed } from "../../src/signing/index.js";
import { foldStatements, signerAt, type FoldedTrust } from "../../src/trust/index.js";
import { client, waitUntil } from "../../test/helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../test/helpers/nats.js";
import { BulkHistory } from "./dataset.js";
import { historyRows, probeHistory, storageRow, verifyUnderAuditRow } from "./history-probes.js";
import { CLI, runCommand, startDaemonProcess, type RunningDaemon } from "./processes.js";
import { median, rateRow, type Row } from "./report.js";
import type { BenchSizes } from "./sizes.js";

const STREAM = "KEYLEDGER";
const log = (line: string) => process.stdout.write(`  … ${line}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

/**
 * The rows that need a long history: replay (rebuild), start-up after 100k and after all events,
 * memory of a daemon holding the keys, and the audit. One stream, one data directory, in order.
 */
export async function bigWorldRows(sizes: BenchSizes): Promise<Row[]> {
  const nats = await startTestNats();
  const dataDir = await tempDir("keyledger-bench-big-");
  const nc = await connectNats(nats.url, "bench-history");
  let history: BulkHistory | undefined;
  try {
    // The daemon creates the stream and its bootstrap admin; the history is then written after it.
    let daemon = await startDaemonProcess(nats.url, dataDir);
    // The history is signed with the daemon's own key, the ledger's anchor; a few more keys are enrolled and revoked.
    await enrolKeys(daemon, 20);
    // Stopped while the history is written: the writer counts the stream's sequences for its checkpoints.
    await daemon.stop();
    const { signer } = await loadSigner(dataDir);
    history = await BulkHistory.open(nc, {
      stream: STREAM,
      keysPerAccount: sizes.keysPerAccount,
      sampleSize: sizes.auditSample,
      signer,
      checkpointEvery: sizes.checkpointEvery,
    });
    // 11: the questions about the past, first on a short history.
    await history.fillTo(sizes.shortHistory);
    daemon = await startDaemonProcess(nats.url, dataDir);
    await caughtUp(daemon, history);
    log(`11. questions about the past on ${history.written} events`);
    const shortProbes = await probeHistory(daemon, await streamHead(nc), history.accounts, sizes.probeSamples);
    await daemon.stop();

    let filled = performance.now();
    await history.fillTo(sizes.earlyEvents);
    log(`wrote ${history.written} events in ${seconds(performance.now() - filled)} s`);
    daemon = await startDaemonProcess(nats.url, dataDir);
    await caughtUp(daemon, history);
    await daemon.stop();
    const early = await startups(nats.url, dataDir, sizes);
    const earlyHead = await streamHead(nc);

    filled = performance.now();
    await history.fillTo(sizes.events);
    log(
      `wrote ${history.written} events (${history.keys} keys, ${history.checkpoints} checkpoints) in ${seconds(performance.now() - filled)} s`,
    );
    const head = await streamHead(nc);

    const replay = await replayRow(nats, dataDir, head);
    const storage = await storageRow(join(dataDir, "readmodel"), await streamBytes(nc), head);
    const late = await startups(nats.url, dataDir, sizes);
    const startupRow: Row = {
      id: "5",
      name: `start-up to /readyz, warm read model: ${head.toLocaleString("en-US")} vs ${earlyHead.toLocaleString("en-US")} events`,
      ours: { value: median(late), unit: "ms", detail: `runs ${late.map(Math.round).join(", ")}` },
      baselineName: `the same after ${earlyHead.toLocaleString("en-US")} events`,
      baseline: { value: median(early), unit: "ms", detail: `runs ${early.map(Math.round).join(", ")}` },
      ratio: median(late) / median(early),
      target: { text: "ratio ≤ 1.2 (time after all ÷ time after the first)", met: median(late) / median(early) <= 1.2 },
      note: "the ratio of this row is a time ratio: lower is better",
    };

    daemon = await startDaemonProcess(nats.url, dataDir);
    const memoryRow = await memory(daemon, history, sizes, replay.rebuildPeakMiB);
    // Rows 11 and 12 measure a daemon in service: its revocation relay has looked through the
    // history written behind its back (as its projector has applied it before /readyz).
    await relayCaughtUp(daemon, await streamHead(nc));
    log(`11. questions about the past on ${head} events`);
    const longProbes = await probeHistory(daemon, head, history.accounts, sizes.probeSamples);
    log("12. verification while auditors read the past and an audit runs");
    const underAudit = await verifyUnderAuditRow(daemon, head, history.accounts, history.sampleKeys[0]!, sizes.verifyLoadSeconds);
    await daemon.stop();

    const auditRows = await audit(nats, history, head);
    const bundle = await bundleRow(nats.url, dataDir, auditRows[0]!.baseline!.value);
    return [
      replay.row,
      startupRow,
      memoryRow,
      ...auditRows,
      bundle,
      ...historyRows(shortProbes, longProbes),
      storage,
      underAudit,
    ];
  } finally {
    await nc.close();
    await nats.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function streamBytes(nc: Awaited<ReturnType<typeof connectNats>>): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(STREAM)).state.bytes;
}

async function streamHead(nc: Awaited<ReturnType<typeof connectNats>>): Promise<number> {
  const store = await JetStreamEventStore.open(nc, signerFromSeed(new Uint8Array(32)), {
    stream: STREAM,
    replicas: 1,
    duplicateWindowMs: 120_000,
    publishTimeoutMs: 30_000,
  });
  return store.head();
}

/** Waits until the daemon verifies the last key written: its read model then holds everything. */
async function caughtUp(daemon: RunningDaemon, history: BulkHistory): Promise<void> {
  const admin = client(daemon.url, await daemon.adminKey());
  await waitUntil(async () => (await admin.post("/v1/auth/verify", { key: history.lastKey })).body?.valid === true, 600_000, 200);
}

/** Waits (at most 2 minutes) until the daemon's revocation relay has looked at the events up to about `head`. */
async function relayCaughtUp(daemon: RunningDaemon, head: number): Promise<void> {
  const started = performance.now();
  const position = async (): Promise<number> => {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    return Number(/^keyledger_revocation_relay_position (\d+)/m.exec(text)?.[1] ?? 0);
  };
  // The last messages of the stream may be checkpoints, which the relay does not look at: it is
  // there when it stands still near the head (or, whatever the head, for two seconds).
  let last = -1;
  for (let still = 0; performance.now() - started < 120_000;) {
    const now = await position();
    still = now > 0 && now === last ? still + 1 : 0;
    if ((still >= 1 && now >= head - 10) || still >= 4) break;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`revocation relay at seq ${last} of ${head}, after ${seconds(performance.now() - started)} s`);
}

/** Start-up times (spawn to the first 200 on /readyz) on the warm data directory. */
async function startups(natsUrl: string, dataDir: string, sizes: BenchSizes): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < sizes.startupRuns; run++) {
    const daemon = await startDaemonProcess(natsUrl, dataDir);
    times.push(daemon.readyAfterMs);
    await daemon.stop();
  }
  log(`start-up: ${times.map(Math.round).join(", ")} ms`);
  return times;
}

async function replayRow(nats: TestNats, dataDir: string, head: number): Promise<{ row: Row; rebuildPeakMiB: number }> {
  log(`4. replay: keyledger projections rebuild of ${head} events`);
  const rebuild = await runCommand([CLI, "projections", "rebuild", "--data-dir", dataDir, "--nats-url", nats.url, "-o", "json"], {
    PATH: process.env.PATH,
    HOME: dataDir,
  });
  if (rebuild.code !== 0) throw new Error(`the rebuild failed (${rebuild.code}):\n${rebuild.output}`);
  log(`rebuild: ${seconds(rebuild.ms)} s, peak RSS ${Math.round(rebuild.peakRssMiB)} MiB`);

  log("4. replay baseline: raw consume with a LevelDB batch write of the same bytes");
  const rawDir = await tempDir("keyledger-bench-raw-");
  const db = new Level<string, Uint8Array>(rawDir, { valueEncoding: "view" });
  await db.open();
  const nc = await connectNats(nats.url, "bench-raw-replay");
  const start = performance.now();
  try {
    const consumer = await jetstream(nc).consumers.get(STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
    const messages = await consumer.consume({ max_messages: 1024 });
    let batch = db.batch();
    for await (const message of messages) {
      batch.put(String(message.seq).padStart(12, "0"), message.data);
      if (batch.length >= 1000 || message.seq >= head) {
        await batch.write();
        batch = db.batch();
      }
      if (message.seq >= head) break;
    }
    await messages.close();
  } finally {
    await nc.close();
  }
  const rawMs = performance.now() - start;
  await db.close();
  await rm(rawDir, { recursive: true, force: true });
  const row = rateRow(
    {
      id: "4",
      name: `replay: keyledger projections rebuild of ${head.toLocaleString("en-US")} events (whole command)`,
      ours: { value: head / (rebuild.ms / 1000), unit: "events/s", detail: `${seconds(rebuild.ms)} s` },
      baselineName: "raw consume of the same stream, LevelDB batch writes of the same bytes",
      baseline: { value: head / (rawMs / 1000), unit: "events/s", detail: `${seconds(rawMs)} s` },
    },
    0.5,
  );
  return { row, rebuildPeakMiB: rebuild.peakRssMiB };
}

async function memory(daemon: RunningDaemon, history: BulkHistory, sizes: BenchSizes, rebuildPeakMiB: number): Promise<Row> {
  const keys = history.sampleKeys.slice(0, sizes.distinctVerifications);
  log(`6. memory: ${keys.length} distinct keys verified on a daemon holding ${history.keys} keys`);
  const admin = client(daemon.url, await daemon.adminKey());
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const answer = await admin.post("/v1/auth/verify", { key });
        if (answer.body?.valid !== true) throw new Error(`a key of the history does not verify: ${answer.status}`);
      }
    }),
  );
  const peak = await daemon.peakRssMiB();
  return {
    id: "6",
    name: `peak RSS of the daemon holding ${history.keys.toLocaleString("en-US")} keys (start, then ${keys.length.toLocaleString("en-US")} distinct verifications)`,
    ours: { value: peak, unit: "MiB" },
    baselineName: "(absolute target)",
    baseline: null,
    ratio: null,
    target: { text: "≤ 256 MiB", met: peak <= 256 },
    note: `the rebuild of the same history peaked at ${Math.round(rebuildPeakMiB)} MiB`,
  };
}

/**
 * A longer enrolment chain than one genesis: `count` more keys approved by the admin, every other
 * one revoked again, so that the audit and row 9 judge each signature against a real chain.
 */
async function enrolKeys(daemon: RunningDaemon, count: number): Promise<void> {
  const admin = client(daemon.url, await daemon.adminKey());
  for (let i = 0; i < count; i++) {
    const signer = signerFromSeed(randomBytes(32));
    const publicKey = Buffer.from(signer.publicKey).toString("base64url");
    const approved = await admin.post(`/v1/signing-keys/${signer.keyId}/approve`, { publicKey });
    if (approved.status !== 200) throw new Error(`approving a bench key failed: ${approved.status}`);
    if (i % 2 === 1) {
      const revoked = await admin.post(`/v1/signing-keys/${signer.keyId}/revoke`, { reason: "bench: retired" });
      if (revoked.status !== 200) throw new Error(`revoking a bench key failed: ${revoked.status}`);
    }
  }
}

async function audit(nats: TestNats, history: BulkHistory, head: number): Promise<Row[]> {
  log(`7. audit verify of ${head} events`);
  const rawStart = performance.now();
  for (const envelope of history.sampleEnvelopes) {
    if ((hashProblem(envelope) ?? signatureProblem(envelope, { publicKey: history.signer.publicKey })) !== null)
      throw new Error("a sealed envelope fails");
  }
  const rawRate = history.sampleEnvelopes.length / ((performance.now() - rawStart) / 1000);

  const nc = await connectNats(nats.url, "bench-audit");
  try {
    const store = await JetStreamEventStore.open(nc, signerFromSeed(new Uint8Array(32)), {
      stream: STREAM,
      replicas: 1,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 30_000,
    });
    const start = performance.now();
    const trust = await foldedTrust(store, head);
    const report = await auditStream(store.messages({ fromSeq: 1, toSeq: head }), { trust, head });
    const ms = performance.now() - start;
    if (!report.ok) throw new Error(`the audit found problems: ${JSON.stringify(report.problems.slice(0, 3))}`);
    const ratio = head / (ms / 1000) / rawRate;
    const auditRow: Row = {
      id: "7",
      name: `audit verify of ${head.toLocaleString("en-US")} events (hash chain, signatures, checkpoints)`,
      ours: { value: head / (ms / 1000), unit: "events/s", detail: `${seconds(ms)} s` },
      baselineName: `raw loop of the same hash and Ed25519 checks over ${history.sampleEnvelopes.length.toLocaleString("en-US")} of the envelopes, one thread`,
      baseline: { value: rawRate, unit: "events/s" },
      ratio,
      target: { text: "ratio ≥ 0.7 and under 2 minutes for 1,000,000", met: ratio >= 0.7 && (ms / head) * 1_000_000 < 120_000 },
    };
    return [auditRow, await chainRow(store, history, head)];
  } finally {
    await nc.close();
  }
}

/** The ledger's key statements up to `head`, read from the stream and folded from the genesis. */
async function foldedTrust(store: JetStreamEventStore, head: number): Promise<FoldedTrust> {
  const statements: Array<{ seq: number; data: Uint8Array }> = [];
  for await (const { seq, data } of store.messages({ filter: KEYS_SUBJECT, fromSeq: 1, toSeq: head }))
    statements.push({ seq, data });
  return foldStatements(statements);
}

/**
 * 9: the signatures of the history's first events checked against the enrolment chain (the key
 * statements read from the stream and folded, then each event's signer looked up at its sequence,
 * then Ed25519), against the same hash and Ed25519 checks with the one public key given.
 */
async function chainRow(store: JetStreamEventStore, history: BulkHistory, head: number): Promise<Row> {
  log("9. signatures of the history against the enrolment chain");
  const sample: Array<{ seq: number; envelope: EventEnvelope }> = [];
  for await (const message of store.messages({ filter: ALL_EVENTS_FILTER, fromSeq: 1, toSeq: head })) {
    sample.push({ seq: message.seq, envelope: decodeEnvelope(message.data) });
    if (sample.length >= history.sampleEnvelopes.length) break;
  }
  const known = { publicKey: history.signer.publicKey };
  const rounds = async (check: () => Promise<void>): Promise<number> => {
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      await check();
      best = Math.max(best, sample.length / ((performance.now() - start) / 1000));
    }
    return best;
  };
  let statements = 0;
  const chained = await rounds(async () => {
    const trust = await foldedTrust(store, head);
    statements = trust.records.length;
    for (const { seq, envelope } of sample)
      if ((hashProblem(envelope) ?? signatureProblem(envelope, signerAt(trust.state, envelope.signingKeyId, seq))) !== null)
        throw new Error(`event ${seq} does not verify against the enrolment chain`);
  });
  const raw = await rounds(async () => {
    for (const { envelope } of sample)
      if ((hashProblem(envelope) ?? signatureProblem(envelope, known)) !== null) throw new Error("a sealed envelope fails");
  });
  return rateRow(
    {
      id: "9",
      name: `signatures of ${sample.length.toLocaleString("en-US")} events verified against the enrolment chain (${statements} key statements read and folded, then each signer at its sequence)`,
      ours: { value: chained, unit: "events/s" },
      baselineName: "the same hash and Ed25519 checks against the one public key given, one thread",
      baseline: { value: raw, unit: "events/s" },
    },
    0.9,
    "best of three rounds each; the chain is read from the stream in every round",
  );
}

/**
 * 10: the evidence bundle of the long history, exported through a daemon (`keyledger audit
 * export -o FILE`), then checked offline by `keyledger audit verify --bundle FILE --anchor KID` as a
 * child process with an empty environment (whole command: reading, hashing, chains, checkpoints,
 * signatures in worker threads, the seal), against the raw hash and Ed25519 loop of row 7.
 */
async function bundleRow(natsUrl: string, dataDir: string, rawRate: number): Promise<Row> {
  const dir = await tempDir("keyledger-bench-bundle-");
  const file = join(dir, "ledger.ndjson");
  try {
    log("10. evidence bundle: keyledger audit export of the long history");
    const daemon = await startDaemonProcess(natsUrl, dataDir);
    let exportMs: number;
    try {
      const env = {
        PATH: process.env.PATH,
        HOME: dataDir,
        KEYLEDGER_URL: daemon.url,
        KEYLEDGER_API_KEY: await daemon.adminKey(),
      };
      const exported = await runCommand([CLI, "audit", "export", "-o", file], env);
      if (exported.code !== 0) throw new Error(`the export failed (${exported.code}):\n${exported.output}`);
      exportMs = exported.ms;
    } finally {
      await daemon.stop();
    }
    const bytes = (await stat(file)).size;
    const { signer } = await loadSigner(dataDir);
    log(`10. offline verification of the bundle (${Math.round(bytes / 1e6)} MB): keyledger audit verify --bundle`);
    const verified = await runCommand([CLI, "audit", "verify", "--bundle", file, "--anchor", signer.keyId, "-o", "json"], {});
    if (verified.code !== 0) throw new Error(`the bundle does not verify (${verified.code}):\n${verified.output.slice(0, 2000)}`);
    const report = JSON.parse(verified.output) as { checked: number; head: number };
    const rate = report.checked / (verified.ms / 1000);
    const forMillion = (verified.ms / report.checked) * 1_100_000;
    log(`bundle: ${seconds(verified.ms)} s for ${report.checked} events, peak RSS ${Math.round(verified.peakRssMiB)} MiB`);
    return {
      id: "10",
      name: `offline verification of the evidence bundle of the long history: ${report.checked.toLocaleString("en-US")} events (keyledger audit verify --bundle, whole command)`,
      ours: {
        value: rate,
        unit: "events/s",
        detail: `${seconds(verified.ms)} s, peak RSS ${Math.round(verified.peakRssMiB)} MiB`,
      },
      baselineName: "the raw hash and Ed25519 loop of row 7, one thread",
      baseline: { value: rawRate, unit: "events/s" },
      ratio: rate / rawRate,
      target: { text: "under 2 minutes for the 1.1-million history", met: forMillion < 120_000 },
      note:
        `bundle ${(bytes / 1e6).toFixed(1)} MB, ${Math.round(bytes / report.checked)} bytes per event; ` +
        `the export through a daemon (keyledger audit export) took ${seconds(exportMs)} s`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
