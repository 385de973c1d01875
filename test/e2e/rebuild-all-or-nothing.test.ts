/**
 * `projections rebuild` builds the new read model beside the old one and puts it in its place only
 * once it is complete: interrupted part way, the old read model is exactly as it was and nothing of
 * the new one is left; what a crashed rebuild left behind is cleared by the next one.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import { JetStreamEventStore } from "../../src/events/index.js";
import { createLogger } from "../../src/logger.js";
import { connectNats } from "../../src/nats/index.js";
import { ReadModel } from "../../src/projections/index.js";
import { rebuildReadModel, RebuildInterrupted } from "../../src/rebuild.js";
import { signerFromSeed } from "../../src/signing/index.js";
import { appendBulkHistory } from "../helpers/bulk-history.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { dumpLevel } from "../helpers/stream.js";

const logger = createLogger("silent");
let nats: TestNats;
let nc: NatsConnection;
let dataDir: string;
let config: Config;
let head: number;
/** The read model the daemon projected, as it left it. */
let before: Array<[string, string]>;

/** The read model of the data directory, every record. */
async function readModelDump(): Promise<Array<[string, string]>> {
  const readModel = await ReadModel.open(join(dataDir, "readmodel"));
  try {
    return await dumpLevel(readModel.db);
  } finally {
    await readModel.close();
  }
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "bulk-writer");
  const daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" });
  dataDir = daemon.dataDir;
  try {
    // A history of several LevelDB batches (1,000 messages each), signed by a key the ledger trusts.
    const signer = signerFromSeed(randomBytes(32));
    const approved = await client(daemon.url, await daemon.adminKey()).post(`/v1/signing-keys/${signer.keyId}/approve`, {
      publicKey: Buffer.from(signer.publicKey).toString("base64url"),
    });
    expect(approved.status).toBe(200);
    const store = await JetStreamEventStore.open(nc, signer, {
      stream: "KEYLEDGER",
      replicas: 1,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 5000,
    });
    await appendBulkHistory(store, { accounts: 10, eventsPerAccount: 500 });
    const last = await store.lastEventSequence();
    await waitUntil(() => daemon.projector.position >= last, 60_000, 100);
    head = last;
  } finally {
    await daemon.stop();
  }
  config = loadConfig({ "data-dir": dataDir, "nats-url": nats.url }, {});
  before = await readModelDump();
  expect(before.length).toBeGreaterThan(10_000);
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe("a rebuild", () => {
  it("interrupted part way, leaves the old read model exactly as it was, and nothing of the new one", async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const outcome = await rebuildReadModel(config, {
      logger,
      progressEveryMs: 1,
      signal: controller.signal,
      onProgress: ({ applied, position }) => {
        if (applied > 0 && position < head && abortedAt === 0) {
          abortedAt = position;
          controller.abort();
        }
      },
    }).catch((error: unknown) => error);

    expect(outcome).toBeInstanceOf(RebuildInterrupted);
    expect(abortedAt).toBeGreaterThan(0);
    expect((outcome as Error).message).toContain("the read model is as it was before the rebuild");
    expect(await readdir(dataDir)).not.toContain("readmodel.rebuilding");
    expect((await readdir(dataDir)).filter((name) => name.startsWith("readmodel."))).toEqual([]);
    expect(await readModelDump()).toEqual(before);
  }, 60_000);

  it("clears what a crashed rebuild left behind, and puts in place the read model the stream gives", async () => {
    const leftover = join(dataDir, "readmodel.rebuilding");
    await mkdir(leftover);
    await writeFile(join(leftover, "CURRENT"), "MANIFEST-000099\n");

    const result = await rebuildReadModel(config, { logger });

    expect(result.position).toBeGreaterThanOrEqual(head);
    expect(result.skipped).toEqual([]);
    expect((await readdir(dataDir)).filter((name) => name.startsWith("readmodel"))).toEqual(["readmodel"]);
    expect(await readModelDump()).toEqual(before);
  }, 60_000);
});
