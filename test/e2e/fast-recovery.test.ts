/**
 * Fast recovery: a rebuild, or a fresh daemon catching up, takes runs of events on the word of
 * signed checkpoints (their digest recomputed, one signature each) instead of one Ed25519 check per
 * event, and ends with exactly the read model that checking every event gives. A checkpoint lists
 * what its writer refused, so a forged event is refused again; a stream that no longer matches a
 * checkpoint is projected again with every check; a checkpoint nobody trusted signed vouches for
 * nothing. The forgeries are built here from the documented format (own canonical JSON, node:crypto).
 */
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamEventStore, TrustLedger } from "../../src/events/index.js";
import { createLogger } from "../../src/logger.js";
import { Projector, ReadModel } from "../../src/projections/index.js";
import { signerFromSeed } from "../../src/signing/index.js";
import { runCli } from "../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { dumpLevel } from "../helpers/stream.js";
import { createKeyledgerStream, publishCopy, readStoredMessages } from "../helpers/stream-copy.js";

/** Canonical JSON as the README defines it: members sorted by UTF-16 code unit, no whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let nc: NatsConnection;
/** The stream sequence of the forged event the daemon refused. */
let forgedSeq: number;

const STREAM = "KEYLEDGER";

interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
}

async function streamMessages(): Promise<StoredMessage[]> {
  const jsm = await jetstreamManager(nc);
  const { first_seq: first, last_seq: last } = (await jsm.streams.info(STREAM)).state;
  const messages: StoredMessage[] = [];
  for (let seq = first; seq <= last; seq += 1) {
    const message = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
    if (message !== null) messages.push({ seq, subject: message.subject, data: message.data });
  }
  return messages;
}

const lastCheckpoint = async (): Promise<Record<string, any> | null> => {
  const message = await (
    await jetstreamManager(nc)
  ).streams
    .getMessage(STREAM, { last_by_subj: "kl.checkpoint" })
    .catch(() => null);
  return message === null ? null : (JSON.parse(message.string()) as Record<string, any>);
};

async function readModelDump(dataDir: string): Promise<Array<[string, string]>> {
  const readModel = await ReadModel.open(`${dataDir}/readmodel`);
  try {
    return await dumpLevel(readModel.db);
  } finally {
    await readModel.close();
  }
}

/** The read model that checking every event gives: the projector alone, without checkpoints, into a fresh directory. */
async function checkedOneByOne(): Promise<Array<[string, string]>> {
  const dir = await tempDir("keyledger-checked-");
  const readModel = await ReadModel.open(dir);
  const logger = createLogger("silent");
  const store = await JetStreamEventStore.open(nc, signerFromSeed(new Uint8Array(32)), {
    stream: STREAM,
    replicas: 1,
    duplicateWindowMs: 120_000,
    publishTimeoutMs: 5000,
    mustExist: true,
    reconfigure: false,
  });
  const trust = await TrustLedger.open(store, logger, daemon.signer.keyId);
  const projector = new Projector(store, readModel, logger, { trust });
  try {
    await projector.start();
    expect(projector.vouchedSinceStart).toBe(0);
    return await dumpLevel(readModel.db);
  } finally {
    await projector.stop();
    await readModel.close();
  }
}

/** Deletes the stream and writes it again from the given messages (as someone restoring a doctored backup would). */
async function rewriteStream(messages: Parameters<typeof publishCopy>[1]): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM);
  await createKeyledgerStream(jsm, STREAM);
  await publishCopy(nc, messages);
}

const rebuild = async (dataDir: string) => {
  const result = await runCli(["projections", "rebuild", "--data-dir", dataDir, "--nats-url", nats.url, "-o", "json"], {
    env: { PATH: process.env.PATH },
    timeoutMs: 60_000,
  });
  expect(result.code, result.stderr).toBe(0);
  return {
    ...(JSON.parse(result.stdout) as {
      applied: number;
      vouched: number;
      signaturesChecked: number;
      skipped: Array<{ seq: number; reason: string }>;
    }),
    stderr: result.stderr,
  };
};

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" });
  admin = client(daemon.url, await daemon.adminKey());
  nc = await connect({ servers: nats.url, name: "intruder" });
  for (let i = 0; i < 12; i += 1) {
    expect((await admin.post("/v1/service-accounts", { name: `svc-${i}` })).status).toBe(201);
    expect((await admin.post(`/v1/service-accounts/svc-${i}/api-keys`, { name: "second" })).status).toBe(201);
  }
  // A forged event on svc-3: the daemon's key id, chained right, signed by somebody else.
  const victim = (await admin.get("/v1/service-accounts/svc-3")).body.id as string;
  const last = (await streamMessages()).filter((message) => message.subject === `kl.acct.${victim}`).at(-1)!;
  const previous = JSON.parse(Buffer.from(last.data).toString("utf8")) as { hash: string; accountVersion: number };
  const { privateKey } = generateKeyPairSync("ed25519");
  const unsigned = {
    id: "evt_01JZZZZZZZZZZZZZZZZZZZZZZZ",
    type: "ServiceAccountUpdated",
    schemaVersion: 1,
    accountId: victim,
    occurredAt: new Date().toISOString(),
    actor: { kind: "system", reason: "bootstrap" },
    requestId: null,
    data: { roles: ["admin"] },
    accountVersion: previous.accountVersion + 1,
    prevHash: previous.hash,
    signingKeyId: daemon.signer.keyId,
  };
  const bytes = Buffer.from(canonical(unsigned), "utf8");
  const forged = {
    ...unsigned,
    hash: createHash("sha256").update(bytes).digest("hex"),
    signature: sign(null, bytes, privateKey).toString("base64url"),
  };
  forgedSeq = (await jetstream(nc).publish(`kl.acct.${victim}`, JSON.stringify(forged))).seq;
  for (let i = 12; i < 16; i += 1) expect((await admin.post("/v1/service-accounts", { name: `svc-${i}` })).status).toBe(201);
  const head = await daemon.store.head();
  await waitUntil(async () => ((await lastCheckpoint())?.upToSeq ?? 0) >= head - 1, 10_000, 50);
  await daemon.stop();
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await daemon?.stop();
  await nats?.stop();
});

describe("a checkpoint", () => {
  it("lists the event messages its writer refused since the one before, and is signed over that list", async () => {
    const checkpoints = (await streamMessages())
      .filter((message) => message.subject === "kl.checkpoint")
      .map((message) => JSON.parse(Buffer.from(message.data).toString("utf8")) as Record<string, any>);
    expect(checkpoints.length).toBeGreaterThan(1);
    for (const [i, checkpoint] of checkpoints.entries()) {
      expect(checkpoint.schemaVersion).toBe(3);
      expect(checkpoint.refused.after).toBe(i === 0 ? 0 : checkpoints[i - 1]!.upToSeq);
      const covers = checkpoint.refused.after < forgedSeq && forgedSeq <= checkpoint.upToSeq;
      expect(checkpoint.refused.seqs).toEqual(covers ? [forgedSeq] : []);
      const { hash, signature: _signature, ...rest } = checkpoint;
      expect(createHash("sha256").update(canonical(rest)).digest("hex")).toBe(hash);
    }
  });
});

describe("a fresh daemon catching up", () => {
  it("takes the runs on the checkpoints' word too", async () => {
    const fresh = await startTestDaemon(nats.url, {}, { signer: daemon.signer });
    try {
      expect(fresh.projector.vouchedSinceStart).toBeGreaterThan(0);
      expect(fresh.projector.signaturesCheckedSinceStart).toBeLessThan(fresh.projector.appliedSinceStart);
      expect((await client(fresh.url, await daemon.adminKey()).get("/v1/service-accounts/svc-15")).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });
});

describe("a rebuild", () => {
  it("takes the runs on the checkpoints' word, and ends with what checking every event gives, forged event refused", async () => {
    const expected = await checkedOneByOne();
    const before = await readModelDump(daemon.dataDir);
    expect(before).toEqual(expected);
    const rebuilt = await rebuild(daemon.dataDir);
    expect(rebuilt.vouched).toBeGreaterThan(20);
    expect(rebuilt.signaturesChecked).toBeLessThan(rebuilt.applied - 20);
    expect(rebuilt.skipped.map((entry) => entry.seq)).toEqual([forgedSeq]);
    expect(rebuilt.skipped[0]!.reason).toBe("signature does not verify");
    expect(await readModelDump(daemon.dataDir)).toEqual(expected);
  });

  it("gives no weight to a checkpoint nobody trusted signed, however right its digest", async () => {
    // The intruder's checkpoint covers everything and lists nothing as refused, and its digest is right.
    let digest = "0".repeat(64);
    let count = 0;
    let upToSeq = 0;
    for (const message of await streamMessages()) {
      if (!message.subject.startsWith("kl.acct.")) continue;
      digest = createHash("sha256").update(digest, "ascii").update(message.data).digest("hex");
      count += 1;
      upToSeq = message.seq;
    }
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const unsigned = {
      type: "StreamCheckpoint",
      schemaVersion: 3,
      occurredAt: new Date().toISOString(),
      upToSeq,
      eventCount: count,
      digest,
      prevHash: (await lastCheckpoint())!.hash,
      keys: (await lastCheckpoint())!.keys,
      refused: { after: 0, seqs: [] },
      signingKeyId: createHash("sha256").update(raw).digest("base64url").slice(0, 16),
    };
    const bytes = Buffer.from(canonical(unsigned), "utf8");
    await jetstream(nc).publish(
      "kl.checkpoint",
      JSON.stringify({
        ...unsigned,
        hash: createHash("sha256").update(bytes).digest("hex"),
        signature: sign(null, bytes, privateKey).toString("base64url"),
      }),
    );
    const rebuilt = await rebuild(daemon.dataDir);
    expect(rebuilt.skipped.map((entry) => entry.seq)).toEqual([forgedSeq]);
    expect(rebuilt.skipped[0]!.reason).toBe("signature does not verify");
  });

  it("checks every event again when the stream no longer matches a checkpoint (an event was altered)", async () => {
    // Someone with the rights to do so rewrites the stream from a copy in which one event says something else.
    const stored = await readStoredMessages(nc, STREAM);
    expect(stored[0]!.seq).toBe(1);
    const victim = stored.findIndex(
      (message) => message.subject.startsWith("kl.acct.") && Buffer.from(message.data).includes('"name":"svc-5"'),
    );
    const altered = Buffer.from(Buffer.from(stored[victim]!.data).toString("utf8").replace('"name":"svc-5"', '"name":"svc-x"'));
    await rewriteStream(stored.map((message, i) => (i === victim ? { ...message, data: altered } : message)));
    const expected = await checkedOneByOne();
    const rebuilt = await rebuild(daemon.dataDir);
    expect(rebuilt.stderr).toContain("does not match a signed checkpoint");
    expect(rebuilt.vouched).toBe(0);
    expect(await readModelDump(daemon.dataDir)).toEqual(expected);
    // The altered event no longer hashes right: refused, and svc-5's later events with it.
    expect(rebuilt.skipped.map((entry) => entry.seq)).toContain(stored[victim]!.seq);
  });

  it("ends with what checking every event gives when an event was left out of the stream", async () => {
    const stored = await readStoredMessages(nc, STREAM);
    const victim = stored.find(
      (message) => message.subject.startsWith("kl.acct.") && Buffer.from(message.data).includes('"name":"svc-7"'),
    )!;
    await rewriteStream(stored.filter((message) => message !== victim));
    const expected = await checkedOneByOne();
    await rebuild(daemon.dataDir);
    expect(await readModelDump(daemon.dataDir)).toEqual(expected);
  });
});
