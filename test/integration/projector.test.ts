import { rm } from "node:fs/promises";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newAccountId } from "../../src/application/ids.js";
import { newSecret } from "../../src/application/secrets.js";
import type { JetStreamEventStore } from "../../src/events/event-store.js";
import { createLogger } from "../../src/logger.js";
import { connectNats } from "../../src/nats/index.js";
import { CHECKPOINT, type AccountFields } from "../../src/projections/layout.js";
import { Projector, ReadModelTimeoutError } from "../../src/projections/projector.js";
import { ReadModel, type Writes } from "../../src/projections/read-model.js";
import { appendBulkHistory } from "../helpers/bulk-history.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import {
  command,
  createAccount,
  createKey,
  dump,
  eventually,
  foldStored,
  openStore,
  runOnStream,
  seedAccount,
  sleep,
} from "./support.js";

const STREAM = "T_projector";
const logger = createLogger("silent");

let nats: TestNats;
let nc: NatsConnection;
let store: JetStreamEventStore;
const dirs: string[] = [];
const readModels: ReadModel[] = [];
const projectors: Projector[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "test");
  store = await openStore(nc, STREAM);
});

afterAll(async () => {
  for (const projector of projectors) await projector.stop();
  for (const readModel of readModels) if (readModel.db.status === "open") await readModel.close();
  await nc?.close();
  await nats?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function openReadModel(): Promise<ReadModel> {
  const dir = await tempDir("keyledger-readmodel-");
  dirs.push(dir);
  const readModel = await ReadModel.open(dir);
  readModels.push(readModel);
  return readModel;
}

function newProjector(readModel: ReadModel, retryDelayMs = 50): Projector {
  const projector = new Projector(store, readModel, logger, { retryDelayMs });
  projectors.push(projector);
  return projector;
}

/** The stream's own last sequence, name claims included: the next append gets one more. */
const streamHead = async (): Promise<number> => (await store.manager.streams.info(STREAM)).state.last_seq;

/** How many events the accounts have in the stream. */
async function eventCount(accountIds: readonly string[]): Promise<number> {
  let count = 0;
  for (const accountId of accountIds) count += (await store.readAccount(accountId)).length;
  return count;
}

/** Checks that the read model holds exactly what folding the account's events from the stream gives. */
async function expectMatchesStream(readModel: ReadModel, accountId: string): Promise<void> {
  const events = await store.readAccount(accountId);
  const state = foldStored(events);
  expect(state).not.toBeNull();
  const aggregate = await readModel.aggregate(accountId);
  expect(aggregate?.state).toEqual(state);
  expect(aggregate?.streamSeq).toBe(events.at(-1)!.seq);
  expect(aggregate?.lastHash).toBe(events.at(-1)!.hash);
  for (const key of Object.values(state!.keys)) expect(await readModel.keyRecord(key.id)).toEqual({ ...key, accountId });
  // In key id order (LevelDB's), which is not always the order of creation (two ids of one millisecond).
  expect((await readModel.keysOf(accountId)).map((key) => key.id)).toEqual(Object.keys(state!.keys).sort());
  if (!state!.deleted) expect(await readModel.accountIdByName(state!.name)).toBe(accountId);
}

describe("the projector", () => {
  let incremental: ReadModel;
  const accounts: string[] = [];

  it("applies every event and moves the checkpoint to the last one", async () => {
    for (const name of ["alpha", "beta"]) accounts.push((await seedAccount(store, name)).accountId);
    const head = await store.lastEventSequence();

    incremental = await openReadModel();
    expect(await incremental.checkpoint()).toBe(0);
    const projector = newProjector(incremental);
    await projector.start();

    expect(await incremental.checkpoint()).toBe(head);
    expect(projector.position).toBe(head);
    expect(projector.caughtUp).toBe(true);
    expect(projector.appliedSinceStart).toBe(await eventCount(accounts));
    for (const accountId of accounts) await expectMatchesStream(incremental, accountId);
    await projector.stop();
  });

  it("stops when told to right after it started on a read model that was already caught up", async () => {
    // start() resolves before the follower has its consumer: a stop in that window once hung for good.
    for (let attempt = 0; attempt < 5; attempt++) {
      const projector = newProjector(incremental);
      await projector.start();
      const outcome = await Promise.race([
        projector.stop().then(() => "stopped"),
        new Promise((resolve) => setTimeout(() => resolve("still stopping after 10 s"), 10_000).unref()),
      ]);
      expect(outcome).toBe("stopped");
    }
  });

  it("resumes from its checkpoint after a restart and applies only what is new", async () => {
    const checkpoint = await incremental.checkpoint();
    expect(checkpoint).toBeGreaterThan(0);

    // Written while no projector runs.
    const third = newAccountId();
    accounts.push(third);
    let appended = (await runOnStream(store, createAccount(third, "gamma"))).length;
    appended += (await runOnStream(store, createKey(third, "gamma-key"))).length;
    appended += (await runOnStream(store, command("DeactivateServiceAccount", accounts[0]!, {}))).length;
    appended += (await runOnStream(store, command("UpdateServiceAccount", accounts[1]!, { name: "beta-renamed" }))).length;
    appended += (await runOnStream(store, command("DeleteServiceAccount", third, {}))).length;
    expect(appended).toBe(5);
    expect(await incremental.checkpoint()).toBe(checkpoint);

    const batch = vi.spyOn(incremental.db, "batch");
    const resumed = newProjector(incremental);
    await resumed.start();
    const batches = batch.mock.calls.length;
    batch.mockRestore();

    expect(resumed.appliedSinceStart).toBe(appended);
    // The five events were waiting in the stream: they are applied together, in one LevelDB batch.
    expect(batches).toBe(1);
    expect(await incremental.checkpoint()).toBe(await store.lastEventSequence());
    for (const accountId of accounts) await expectMatchesStream(incremental, accountId);
    expect(await incremental.accountIdByName("beta")).toBeUndefined();
    expect(await incremental.accountIdByName("gamma")).toBeUndefined();
    expect((await incremental.accountRecord(third))?.account.deleted).toBe(true);
    await resumed.stop();
  });

  it("yields, rebuilt from sequence 1 into a new read model, exactly the same LevelDB content", async () => {
    const rebuilt = await openReadModel();
    const projector = newProjector(rebuilt);
    await projector.start();
    expect(projector.appliedSinceStart).toBe(await eventCount(accounts));

    const incrementalEntries = await dump(incremental.db);
    const rebuiltEntries = await dump(rebuilt.db);
    expect(incrementalEntries.length).toBeGreaterThan(accounts.length * 2);
    expect(rebuiltEntries).toEqual(incrementalEntries);
    expect(rebuiltEntries.map(([key]) => key)).toContain(CHECKPOINT);
    expect(rebuiltEntries.some(([key]) => key.startsWith("ret!"))).toBe(true);
    await projector.stop();
  });
});

describe("waiting for the read model", () => {
  let readModel: ReadModel;
  let projector: Projector;

  beforeAll(async () => {
    readModel = await openReadModel();
    projector = newProjector(readModel);
    await projector.start();
  });

  afterAll(async () => {
    await projector.stop();
  });

  it("resolves at once for what is already applied", async () => {
    await expect(projector.waitFor(projector.position, 10)).resolves.toBeUndefined();
    await expect(projector.waitFor(0, 10)).resolves.toBeUndefined();
  });

  it("resolves only once the awaited event is applied", async () => {
    const accountId = newAccountId();
    const next = (await streamHead()) + 1;
    let seenAtResolution: { checkpoint: number; hasRecord: boolean } | null = null;
    const waiting = projector.waitFor(next, 5000).then(async () => {
      seenAtResolution = {
        checkpoint: await readModel.checkpoint(),
        hasRecord: (await readModel.accountRecord(accountId)) !== undefined,
      };
    });
    await sleep(150);
    expect(seenAtResolution).toBeNull();

    const [created] = await runOnStream(store, createAccount(accountId, "awaited"));
    expect(created!.seq).toBe(next);
    await waiting;
    expect(seenAtResolution).toEqual({ checkpoint: next, hasRecord: true });
  });

  it("rejects with ReadModelTimeoutError for a sequence that never comes", async () => {
    const never = (await streamHead()) + 1000;
    const started = Date.now();
    const waiting = projector.waitFor(never, 200);
    await expect(waiting).rejects.toBeInstanceOf(ReadModelTimeoutError);
    await expect(waiting).rejects.toMatchObject({ seq: never });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe("the checkpoint", () => {
  let readModel: ReadModel;
  let projector: Projector;

  beforeAll(async () => {
    readModel = await openReadModel();
    projector = newProjector(readModel, 300);
    await projector.start();
  });

  afterAll(async () => {
    await projector.stop();
  });

  it("is written in the same single batch as the records of the event", async () => {
    const accountId = newAccountId();
    await runOnStream(store, createAccount(accountId, "batched"));
    const keyCommand = createKey(accountId, "batched-key");
    await projector.waitFor(await store.lastEventSequence(), 5000);

    const batches = recordBatches(readModel);
    const put = vi.spyOn(readModel.db, "put");
    const del = vi.spyOn(readModel.db, "del");
    try {
      const [created] = await runOnStream(store, keyCommand);
      await projector.waitFor(created!.seq, 5000);

      expect(batches.written).toHaveLength(1);
      expect(put).not.toHaveBeenCalled();
      expect(del).not.toHaveBeenCalled();
      const ops = batches.written[0]!;
      expect(ops).toContainEqual({ type: "put", key: CHECKPOINT, value: created!.seq });
      expect(ops).toContainEqual(expect.objectContaining({ type: "put", key: `acct!${accountId}` }));
      expect(ops).toContainEqual(expect.objectContaining({ type: "put", key: `key!${keyCommand.data.keyId}` }));
      expect(ops).toContainEqual({ type: "put", key: `acctkey!${accountId}!${keyCommand.data.keyId}`, value: "" });

      // Then a decision of two events (a rotation ending a retention): events that arrive together
      // share a batch (group commit); every batch carries its last message's checkpoint.
      batches.written.length = 0;
      const secret = () => newSecret(keyCommand.data.keyId);
      await runOnStream(
        store,
        command("RotateApiKey", accountId, { keyId: keyCommand.data.keyId, ...pick(secret()), retainSeconds: 60 }),
      );
      const two = await runOnStream(
        store,
        command("RotateApiKey", accountId, { keyId: keyCommand.data.keyId, ...pick(secret()), retainSeconds: 60 }),
      );
      expect(two.map(({ envelope }) => envelope.type)).toEqual(["ApiKeyRetentionExpired", "ApiKeyRotated"]);
      await projector.waitFor(two.at(-1)!.seq, 5000);
      const checkpoints = batches.written.map((ops) => ops.filter((op) => op.key === CHECKPOINT).map((op) => op.value));
      expect(checkpoints.length).toBeGreaterThanOrEqual(1);
      expect(checkpoints.length).toBeLessThanOrEqual(3);
      for (const checkpoint of checkpoints) expect(checkpoint).toHaveLength(1);
      const seqs = checkpoints.map(([seq]) => seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(seqs.at(-1)).toBe(two[1]!.seq);
    } finally {
      batches.restore();
      put.mockRestore();
      del.mockRestore();
    }
  });

  it("does not move when the batch fails, and the event is applied exactly once on the retry", async () => {
    const accountId = newAccountId();
    await runOnStream(store, createAccount(accountId, "crashy"));
    await projector.waitFor(await store.lastEventSequence(), 5000);
    const before = await readModel.checkpoint();
    const recordBefore = await readModel.accountRecord(accountId);

    const batches = recordBatches(readModel, { failFirst: new Error("disk full") });
    try {
      const [created] = await runOnStream(store, createKey(accountId, "after-crash"));
      await eventually(() => projector.lastFailure !== null);
      expect(projector.lastFailure?.message).toBe("disk full");
      expect(await readModel.checkpoint()).toBe(before);
      expect(await readModel.accountRecord(accountId)).toEqual(recordBefore);

      await projector.waitFor(created!.seq, 5000);
      expect(batches.written).toHaveLength(2);
      expect(await readModel.checkpoint()).toBe(created!.seq);
      await expectMatchesStream(readModel, accountId);
      expect((await readModel.aggregate(accountId))?.state.version).toBe(2);
    } finally {
      batches.restore();
    }
  });
});

describe("a projector catching up", () => {
  it("folds the next batch while LevelDB writes the one before it, reading what that one did; nothing counts before it is written", async () => {
    // More than one batch (1,000 messages) of events of a few accounts, side by side: the accounts'
    // chains run across the batches' border.
    const { accountIds } = await appendBulkHistory(store, { accounts: 4, eventsPerAccount: 300 });
    const head = await streamHead();
    const reference = await openReadModel();
    const straight = newProjector(reference);
    await straight.start();

    let release!: () => void;
    const readModel = await openReadModel();
    const batches = recordBatches(readModel, { holdFirst: new Promise<void>((resolve) => (release = resolve)) });
    const projector = newProjector(readModel);
    try {
      const started = projector.start();
      // The first batch's write is held: the next one is folded meanwhile, on top of it …
      await eventually(() => batches.folded.length === 2 && batches.folded[1]!.length > 0);
      await sleep(100);
      const [first, second] = batches.folded as [Operation[], Operation[]];
      expect(second.filter((op) => op.key.startsWith("skipped!"))).toEqual([]);
      const versions = (ops: Operation[], accountId: string): number[] =>
        ops.filter((op) => op.key.startsWith(`hacct!${accountId}!`)).map((op) => (op.value as AccountFields).version);
      for (const accountId of accountIds) {
        expect(versions(first, accountId).length).toBeGreaterThan(0);
        expect(versions(second, accountId)[0]).toBe(versions(first, accountId).at(-1)! + 1);
      }
      // … and nothing counts yet: not the position, not the checkpoint, not a waiter.
      expect(batches.written).toHaveLength(0);
      expect(batches.folded).toHaveLength(2);
      expect(projector.position).toBe(0);
      expect(await readModel.checkpoint()).toBe(0);
      let waited = false;
      const waiting = projector.waitFor(1, 10_000).then(() => (waited = true));
      await sleep(50);
      expect(waited).toBe(false);

      release();
      await waiting;
      await started;
      expect(projector.position).toBe(head);
      expect(batches.written.map((ops) => ops.find((op) => op.key === CHECKPOINT)?.value)).toEqual(
        batches.folded.map((ops) => ops.find((op) => op.key === CHECKPOINT)?.value),
      );
      for (const accountId of accountIds) await expectMatchesStream(readModel, accountId);
      batches.restore();
      expect(await dump(readModel.db)).toEqual(await dump(reference.db));
    } finally {
      release();
      batches.restore();
    }
  });
});

type Operation = { type: string; key: string; value?: unknown };

/**
 * Records the LevelDB batches the read model writes (chained batches, filled as the projector
 * folds): the operations of each, in order, when its write is asked for. `failFirst`: the first
 * write fails with it (and writes nothing), as a full disk would.
 */
function recordBatches(
  readModel: ReadModel,
  { failFirst, holdFirst }: { failFirst?: Error; holdFirst?: Promise<void> } = {},
): { written: Operation[][]; folded: Operation[][]; restore: () => void } {
  const written: Operation[][] = [];
  const folded: Operation[][] = [];
  let failure = failFirst;
  let hold = holdFirst;
  const original = readModel.db.batch.bind(readModel.db) as () => Writes;
  const spy = vi.spyOn(readModel.db, "batch").mockImplementation(((...args: unknown[]) => {
    expect(args).toEqual([]);
    const chained = original();
    const ops: Operation[] = [];
    folded.push(ops);
    const recorder: Writes = {
      put: (key, value) => (ops.push({ type: "put", key, value }), chained.put(key, value)),
      del: (key) => (ops.push({ type: "del", key }), chained.del(key)),
      write: async () => {
        const gate = hold;
        hold = undefined;
        await gate;
        written.push(ops);
        if (failure === undefined) return chained.write();
        const error = failure;
        failure = undefined;
        await chained.close();
        throw error;
      },
      close: () => chained.close(),
    };
    return recorder;
  }) as never);
  return { written, folded, restore: () => spy.mockRestore() };
}

function pick(secret: { secretHash: string; hint: string }) {
  return { secretHash: secret.secretHash, hint: secret.hint };
}
