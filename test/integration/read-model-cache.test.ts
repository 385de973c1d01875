import { rm } from "node:fs/promises";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { newAccountId, newEventId, newRequestId } from "../../src/application/ids.js";
import { newSecret } from "../../src/application/secrets.js";
import { decide, fold, type ServiceAccountCommand, type State } from "../../src/domain/index.js";
import { sealEvent } from "../../src/format/envelope.js";
import type { Appended, JetStreamEventStore } from "../../src/events/event-store.js";
import { accountSubject, ALL_EVENTS_FILTER } from "../../src/format/subjects.js";
import { createLogger } from "../../src/logger.js";
import { connectNats } from "../../src/nats/index.js";
import { Projector } from "../../src/projections/projector.js";
import { ReadModel } from "../../src/projections/read-model.js";
import { SignatureWorkerPool, type SignatureJob } from "../../src/signing/index.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { trustingOnly } from "../helpers/trust.js";
import { command, createAccount, createKey, dump, foldStored, newSigner, openStore, runOnStream, TEST_ACTOR } from "./support.js";

const STREAM = "T_read_model_cache";
const logger = createLogger("silent");

/** Signs every event appended here. */
const signer = newSigner();
/** The trust root as the projectors see it: only `signer` counts. */
const trust = trustingOnly(signer);

let nats: TestNats;
let nc: NatsConnection;
/** Appends, sealing with `signer`. */
let writer: JetStreamEventStore;
/**
 * What the projectors follow: another store instance with a signer of its own, so that no event is
 * "sealed here" and every signature is really checked against `keys`.
 */
let reader: JetStreamEventStore;
const dirs: string[] = [];
const readModels: ReadModel[] = [];
const projectors: Projector[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "test");
  writer = await openStore(nc, STREAM, signer);
  reader = await openStore(nc, STREAM);
});

afterAll(async () => {
  // The server is stopped even when a projector or a read model fails to close.
  try {
    for (const projector of projectors) await projector.stop();
    for (const readModel of readModels) if (readModel.db.status === "open") await readModel.close();
    await nc?.close();
  } finally {
    await nats?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});

async function openReadModel(): Promise<ReadModel> {
  const dir = await tempDir("keyledger-readmodel-");
  dirs.push(dir);
  const readModel = await ReadModel.open(dir);
  readModels.push(readModel);
  return readModel;
}

function newProjector(readModel: ReadModel): Projector {
  const projector = new Projector(reader, readModel, logger, { retryDelayMs: 50, trust });
  projectors.push(projector);
  return projector;
}

/**
 * Checks that what the caches answer for an account and its keys is what LevelDB holds (the record
 * reads bypass the caches), and that LevelDB holds what the account's events fold to.
 */
async function expectCachesMatchRecords(readModel: ReadModel, accountId: string, expected: State): Promise<void> {
  expect(expected).not.toBeNull();
  const record = await readModel.accountRecord(accountId);
  expect(record).toBeDefined();
  const { keys: expectedKeys, ...expectedAccount } = expected!;
  expect(record!.account).toEqual(expectedAccount);
  const keyStates: Record<string, unknown> = {};
  for (const keyId of Object.keys(expectedKeys)) {
    const key = await readModel.keyRecord(keyId);
    expect(key).toEqual({ ...expectedKeys[keyId], accountId });
    expect(await readModel.credential(keyId)).toEqual({ key, account: record!.account });
    const { accountId: _owner, ...state } = key!;
    keyStates[keyId] = state;
  }
  expect(await readModel.aggregate(accountId)).toEqual({
    state: { ...record!.account, keys: keyStates },
    streamSeq: record!.streamSeq,
    lastHash: record!.lastHash,
  });
}

/**
 * Compares two LevelDB dumps entry by entry, so that a difference shows as the few entries that
 * differ (a diff of two whole dumps of hundreds of entries takes the reporter minutes).
 */
function expectSameEntries(actual: ReadonlyArray<[string, unknown]>, expected: ReadonlyArray<[string, unknown]>): void {
  const expectedByKey = new Map(expected);
  const actualByKey = new Map(actual);
  const differing = [...new Set([...actualByKey.keys(), ...expectedByKey.keys()])]
    .filter((key) => JSON.stringify(actualByKey.get(key)) !== JSON.stringify(expectedByKey.get(key)))
    .map((key) => ({ key, actual: actualByKey.get(key), expected: expectedByKey.get(key) }));
  expect(differing.slice(0, 5)).toEqual([]);
  expect(actual.map(([key]) => key)).toEqual(expected.map(([key]) => key));
}

/** The state an account's events in the stream fold to, leaving out the sequences given. */
async function foldedFromStream(accountId: string, leaveOut: ReadonlySet<number> = new Set()): Promise<State> {
  return foldStored((await writer.readAccount(accountId)).filter((event) => !leaveOut.has(event.seq)));
}

describe("the read model's caches after writes", () => {
  let readModel: ReadModel;
  let projector: Projector;
  const accountId = newAccountId();
  let first: string;
  let second: string;

  /** Appends a command's events, waits for the projector, and checks every cached answer against LevelDB. */
  async function applyAndCheck(cmd: ServiceAccountCommand): Promise<Appended[]> {
    const appended = await runOnStream(writer, cmd);
    await projector.waitFor(appended.at(-1)!.seq, 5000);
    await expectCachesMatchRecords(readModel, accountId, await foldedFromStream(accountId));
    expect((await readModel.aggregate(accountId))?.streamSeq).toBe(appended.at(-1)!.seq);
    return appended;
  }

  beforeAll(async () => {
    readModel = await openReadModel();
    projector = newProjector(readModel);
    await projector.start();
    await runOnStream(writer, createAccount(accountId, "cached"));
    const firstKey = createKey(accountId, "first");
    const secondKey = createKey(accountId, "second");
    first = firstKey.data.keyId;
    second = secondKey.data.keyId;
    await runOnStream(writer, firstKey);
    await projector.waitFor((await runOnStream(writer, secondKey))[0]!.seq, 5000);
  });

  afterAll(async () => {
    await projector.stop();
  });

  it("answers warm reads from memory, with what LevelDB holds", async () => {
    await expectCachesMatchRecords(readModel, accountId, await foldedFromStream(accountId));
    const get = vi.spyOn(readModel.db, "get");
    const getMany = vi.spyOn(readModel.db, "getMany");
    try {
      expect((await readModel.credential(first))?.key.id).toBe(first);
      expect((await readModel.credential(second))?.key.id).toBe(second);
      expect((await readModel.aggregate(accountId))?.state.version).toBe(3);
      expect(get).not.toHaveBeenCalled();
      expect(getMany).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
      getMany.mockRestore();
    }
    expect(await readModel.credential("key_00000000000000000000000000")).toBeNull();
    expect(await readModel.aggregate(newAccountId())).toBeNull();
  });

  it("answers a deactivated key once ApiKeyDeactivated is applied", async () => {
    const before = await readModel.credential(first);
    expect(before?.key.active).toBe(true);
    const [deactivated] = await applyAndCheck(command("DeactivateApiKey", accountId, { keyId: first }));
    expect(deactivated!.envelope.type).toBe("ApiKeyDeactivated");
    const after = await readModel.credential(first);
    expect(after?.key.active).toBe(false);
    expect(after?.key.epoch).toBe(1);
    expect((await readModel.aggregate(accountId))?.state.keys[first]?.active).toBe(false);
    expect((await readModel.credential(second))?.key.active).toBe(true);
  });

  it("answers the deactivated account in every key's credential once ServiceAccountDeactivated is applied", async () => {
    expect((await readModel.credential(second))?.account.active).toBe(true);
    const [deactivated] = await applyAndCheck(command("DeactivateServiceAccount", accountId, {}));
    expect(deactivated!.envelope.type).toBe("ServiceAccountDeactivated");
    for (const keyId of [first, second]) {
      const credential = await readModel.credential(keyId);
      expect(credential?.account.active).toBe(false);
      expect(credential?.account.epoch).toBe(1);
    }
    expect((await readModel.aggregate(accountId))?.state.active).toBe(false);
  });

  it("answers the new secret once ApiKeyRotated is applied", async () => {
    const before = await readModel.credential(second);
    expect(before?.key.generation).toBe(0);
    const secret = newSecret(second);
    const [rotated] = await applyAndCheck(
      command("RotateApiKey", accountId, { keyId: second, secretHash: secret.secretHash, hint: secret.hint, retainSeconds: 0 }),
    );
    expect(rotated!.envelope.type).toBe("ApiKeyRotated");
    const after = await readModel.credential(second);
    expect(after?.key.secretHash).toBe(secret.secretHash);
    expect(after?.key.generation).toBe(1);
    expect(after?.key.previous?.secretHash).toBe(before?.key.secretHash);
    expect((await readModel.aggregate(accountId))?.state.keys[second]?.secretHash).toBe(secret.secretHash);
  });

  it("answers a deleted key (still found, flagged) once ApiKeyDeleted is applied", async () => {
    const [deleted] = await applyAndCheck(command("DeleteApiKey", accountId, { keyId: first }));
    expect(deleted!.envelope.type).toBe("ApiKeyDeleted");
    const after = await readModel.credential(first);
    expect(after?.key.deleted).toBe(true);
    expect(after?.key.active).toBe(false);
    expect((await readModel.aggregate(accountId))?.state.keys[first]?.deleted).toBe(true);
    expect((await readModel.aggregate(accountId))?.state.version).toBe(7);
  });

  it("leaves no stale answer behind when reads run while the projector writes", async () => {
    const other = newAccountId();
    const keyCommand = createKey(other, "raced");
    const keyId = keyCommand.data.keyId;
    await runOnStream(writer, createAccount(other, "raced"));
    await projector.waitFor((await runOnStream(writer, keyCommand))[0]!.seq, 5000);
    expect((await readModel.credential(keyId))?.key.active).toBe(true);

    let reading = true;
    let reads = 0;
    const readers = [0, 1, 2].map(async () => {
      while (reading) {
        await Promise.all([readModel.credential(keyId), readModel.aggregate(other)]);
        reads += 1;
        // Reads from memory resolve without I/O: let the projector's messages in between.
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    try {
      const [deactivated] = await runOnStream(writer, command("DeactivateApiKey", other, { keyId }));
      await projector.waitFor(deactivated!.seq, 5000);
      const [renamed] = await runOnStream(writer, command("UpdateServiceAccount", other, { description: "changed" }));
      await projector.waitFor(renamed!.seq, 5000);
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(reads).toBeGreaterThan(0);
    expect((await readModel.credential(keyId))?.key.active).toBe(false);
    expect((await readModel.credential(keyId))?.account.description).toBe("changed");
    await expectCachesMatchRecords(readModel, other, await foldedFromStream(other));
  });

  it("answers null from both caches after clear(), and what the rebuild writes afterwards", async () => {
    expect(await readModel.credential(second)).not.toBeNull();
    expect(await readModel.aggregate(accountId)).not.toBeNull();
    await projector.stop();

    await readModel.clear();
    expect(await readModel.credential(first)).toBeNull();
    expect(await readModel.credential(second)).toBeNull();
    expect(await readModel.aggregate(accountId)).toBeNull();
    expect(await readModel.keyRecord(second)).toBeUndefined();
    expect(await readModel.accountRecord(accountId)).toBeUndefined();
    expect(await readModel.checkpoint()).toBe(0);

    projector = newProjector(readModel);
    await projector.start();
    expect(await readModel.checkpoint()).toBe(await writer.lastEventSequence());
    await expectCachesMatchRecords(readModel, accountId, await foldedFromStream(accountId));
    expect((await readModel.credential(first))?.key.deleted).toBe(true);
  });
});

/**
 * Appends decisions at each account's head as this writer tracks it (no read of the stream per
 * command), and can append a forged event: one that names `signer` but is signed by another key.
 * A forged event moves the account's subject on, not its state or chain, as the projector does.
 */
class TrackingWriter {
  private readonly heads = new Map<string, { expectedSeq: number; prevHash: string | null; state: State }>();

  state(accountId: string): State {
    return this.heads.get(accountId)?.state ?? null;
  }

  get accountIds(): string[] {
    return [...this.heads.keys()];
  }

  async run(cmd: ServiceAccountCommand): Promise<Appended[]> {
    const head = this.heads.get(cmd.accountId) ?? { expectedSeq: 0, prevHash: null, state: null };
    const events = decide(cmd, head.state);
    const appended = await writer.append(
      cmd.accountId,
      { expectedSeq: head.expectedSeq, prevHash: head.prevHash, version: head.state?.version ?? 0 },
      events,
      { actor: cmd.metadata.actor, requestId: newRequestId(), newEventId },
    );
    const last = appended.at(-1)!;
    this.heads.set(cmd.accountId, { expectedSeq: last.seq, prevHash: last.envelope.hash, state: fold(events, head.state) });
    return appended;
  }

  async forge(cmd: ServiceAccountCommand): Promise<number> {
    const head = this.heads.get(cmd.accountId)!;
    const [event] = decide(cmd, head.state);
    const forger = { ...newSigner(), keyId: signer.keyId };
    const envelope = sealEvent(
      event!,
      {
        id: newEventId(),
        actor: TEST_ACTOR,
        requestId: newRequestId(),
        accountVersion: head.state!.version + 1,
        prevHash: head.prevHash,
      },
      forger,
    );
    const ack = await writer.jetstream.publish(accountSubject(cmd.accountId), JSON.stringify(envelope), {
      msgID: envelope.id,
      expect: { lastSubjectSequence: head.expectedSeq },
    });
    head.expectedSeq = ack.seq;
    return ack.seq;
  }
}

/**
 * Round-robin commands over a few accounts, each deciding exactly one event: creations first, then
 * changes to accounts and keys (a key is deactivated or activated after the state `stateOf` answers).
 */
function* workload(accounts: number, stateOf: (accountId: string) => State): Generator<ServiceAccountCommand> {
  const ids = Array.from({ length: accounts }, () => newAccountId());
  const keyIds: string[][] = ids.map(() => []);
  for (const [i, accountId] of ids.entries()) yield createAccount(accountId, `bulk-${i}`);
  for (const [i, accountId] of ids.entries()) {
    for (const name of ["one", "two"]) {
      const cmd = createKey(accountId, name);
      keyIds[i]!.push(cmd.data.keyId);
      yield cmd;
    }
  }
  for (let round = 0; ; round++) {
    for (const [i, accountId] of ids.entries()) {
      const keyId = keyIds[i]![(round + i) % 2]!;
      const secret = newSecret(keyId);
      const active = stateOf(accountId)!.keys[keyId]!.active;
      const commands: ServiceAccountCommand[] = [
        command("UpdateApiKey", accountId, { keyId, description: `round ${round}` }),
        command("RotateApiKey", accountId, { keyId, secretHash: secret.secretHash, hint: secret.hint, retainSeconds: 0 }),
        command(active ? "DeactivateApiKey" : "ActivateApiKey", accountId, { keyId }),
        command("UpdateServiceAccount", accountId, { description: `account round ${round}` }),
      ];
      yield commands[(round + i) % commands.length]!;
    }
  }
}

describe("a catch-up of many waiting events", () => {
  const tracking = new TrackingWriter();
  /** Follows every append one event at a time: the reference the batched catch-up must equal. */
  let live: ReadModel;
  let liveProjector: Projector;
  /** Its projector runs only for the catch-ups. */
  let behind: ReadModel;
  const forged = new Set<number>();
  /** The account and key a forged event targets. */
  const target = { accountId: newAccountId(), keyId: "" };

  /**
   * Appends `count` events from the workload (one event per decision), letting the live projector
   * apply each one before the next is appended; answers the live read model's LevelDB batch count.
   */
  async function appendOneByOne(commands: Iterator<ServiceAccountCommand>, count: number, forgeAt?: number): Promise<number> {
    const batch = vi.spyOn(live.db, "batch");
    try {
      for (let i = 0; i < count; i++) {
        if (i === forgeAt) await forgeAmid();
        const appended = await tracking.run(commands.next().value as ServiceAccountCommand);
        expect(appended).toHaveLength(1);
        await liveProjector.waitFor(appended[0]!.seq, 5000);
      }
      return batch.mock.calls.length;
    } finally {
      batch.mockRestore();
    }
  }

  /**
   * Amid the workload, an account of its own with one key gets a genuine event, then a forged
   * rotation of that key (an attacker's secret), then a genuine event that follows the chain as if
   * the forgery were not there: four genuine events and one forged.
   */
  async function forgeAmid(): Promise<void> {
    const keyCommand = createKey(target.accountId, "target");
    target.keyId = keyCommand.data.keyId;
    await tracking.run(createAccount(target.accountId, "forgery-target"));
    await tracking.run(keyCommand);
    await tracking.run(
      command("UpdateApiKey", target.accountId, { keyId: target.keyId, description: "right before the forgery" }),
    );
    const attacker = newSecret(target.keyId);
    const seq = await tracking.forge(
      command("RotateApiKey", target.accountId, {
        keyId: target.keyId,
        secretHash: attacker.secretHash,
        hint: attacker.hint,
        retainSeconds: 0,
      }),
    );
    forged.add(seq);
    await liveProjector.waitFor(seq, 5000);
    const [after] = await tracking.run(
      command("UpdateApiKey", target.accountId, { keyId: target.keyId, description: "right after the forgery" }),
    );
    await liveProjector.waitFor(after!.seq, 5000);
  }

  /** Starts a projector on `behind`, counting its LevelDB batches and the signatures checked in the worker pool. */
  async function catchUp(): Promise<{ projector: Projector; batches: number; pooledChecks: number }> {
    const batch = vi.spyOn(behind.db, "batch");
    const checkAcross = vi.spyOn(SignatureWorkerPool.prototype, "checkAcross");
    try {
      const projector = newProjector(behind);
      catchingUp = projector;
      await projector.start();
      const pooledChecks = checkAcross.mock.calls.reduce((sum, [jobs]) => sum + (jobs as readonly SignatureJob[]).length, 0);
      return { projector, batches: batch.mock.calls.length, pooledChecks };
    } finally {
      batch.mockRestore();
      checkAcross.mockRestore();
    }
  }

  async function expectSameAsOneByOne(): Promise<void> {
    const head = await writer.lastEventSequence();
    await liveProjector.waitFor(head, 5000);
    expect(await behind.checkpoint()).toBe(head);
    expectSameEntries(await dump(behind.db), await dump(live.db));
    for (const accountId of tracking.accountIds) {
      const state = tracking.state(accountId);
      expect(await foldedFromStream(accountId, forged)).toEqual(state);
      await expectCachesMatchRecords(behind, accountId, state);
    }
  }

  const commands = workload(12, (accountId) => tracking.state(accountId));

  beforeAll(async () => {
    live = await openReadModel();
    liveProjector = newProjector(live);
    await liveProjector.start();
    behind = await openReadModel();
  });

  /**
   * Each test's catch-up projector stops after it, failed or not: left running, it would apply what
   * the next test appends, and that test's projector would start at the head.
   */
  let catchingUp: Projector | null = null;
  afterEach(async () => {
    await catchingUp?.stop();
    catchingUp = null;
  });

  afterAll(async () => {
    await liveProjector.stop();
  });

  it("applies 300 waiting events in a few LevelDB batches, checking their signatures in worker threads", async () => {
    const count = 300;
    const liveBatches = await appendOneByOne(commands, count);
    expect(liveBatches).toBe(count);

    const head = await writer.lastEventSequence();
    const { projector, batches, pooledChecks } = await catchUp();
    // Every message of the stream is an event (this file claims no names) and every one applies.
    expect(projector.appliedSinceStart).toBe(head);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(count / 10);
    expect(pooledChecks).toBe(head);
    expect(await behind.skipped()).toEqual([]);
    await expectSameAsOneByOne();
  });

  it("skips a forged event inside a large batch, records it, and applies the events around it", async () => {
    const checkpoint = await behind.checkpoint();
    const count = 150;
    await appendOneByOne(commands, count, 75);
    expect(forged.size).toBe(1);
    const forgedSeq = [...forged][0]!;
    const head = await writer.lastEventSequence();
    // The events appended here, the forgery among them, are all waiting for `behind`.
    const genuine = count + 4;
    expect(head - checkpoint).toBe(genuine + 1);

    const { projector, batches, pooledChecks } = await catchUp();
    expect(projector.appliedSinceStart).toBe(genuine);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan((genuine + 1) / 10);
    expect(pooledChecks).toBe(genuine + 1);
    const skipped = [{ seq: forgedSeq, reason: "signature does not verify" }];
    expect(await behind.skipped()).toEqual(skipped);
    expect(await live.skipped()).toEqual(skipped);

    // The target's events right before and right after the forgery are applied; the forged rotation is not.
    const stream = await writer.readAccount(target.accountId);
    expect(stream.map((event) => event.seq).slice(-3)).toEqual([forgedSeq - 1, forgedSeq, forgedSeq + 1]);
    const [before, forgery, after] = stream.slice(-3);
    expect(forgery!.type).toBe("ApiKeyRotated");
    expect(after!.prevHash).toBe(before!.hash);
    const aggregate = await behind.aggregate(target.accountId);
    expect(aggregate?.state.version).toBe(4);
    expect(aggregate?.streamSeq).toBe(after!.seq);
    expect(aggregate?.lastHash).toBe(after!.hash);
    const key = await behind.keyRecord(target.keyId);
    expect(key?.description).toBe("right after the forgery");
    expect(key?.generation).toBe(0);
    expect(key?.secretHash).toBe(tracking.state(target.accountId)!.keys[target.keyId]!.secretHash);
    expect(key?.secretHash).not.toBe((forgery!.data as { secretHash: string }).secretHash);
    expect((await behind.credential(target.keyId))?.key).toEqual(key);
    // The workload's events on either side of the forgery are applied too.
    const neighbours = (await writer.read(ALL_EVENTS_FILTER, forgedSeq - 5, forgedSeq + 5)).filter(
      (event) => event.accountId !== target.accountId,
    );
    expect(neighbours.length).toBeGreaterThan(0);
    expect(neighbours.some((event) => event.seq < forgedSeq) && neighbours.some((event) => event.seq > forgedSeq)).toBe(true);
    for (const event of neighbours)
      expect((await behind.aggregate(event.accountId))?.state.version).toBeGreaterThanOrEqual(event.accountVersion);

    await expectSameAsOneByOne();
  });

  it("applies a catch-up longer than one batch across several batches, the same as one by one", async () => {
    // More than the projector gathers into one LevelDB batch (1000 messages): the next batch's
    // signatures are checked while the one before it is written.
    const checkpoint = await behind.checkpoint();
    const count = 1100;
    await appendOneByOne(commands, count);
    expect((await writer.lastEventSequence()) - checkpoint).toBe(count);

    const { projector, batches, pooledChecks } = await catchUp();
    expect(projector.appliedSinceStart).toBe(count);
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(batches).toBeLessThan(count / 100);
    expect(pooledChecks).toBe(count);
    expect(await behind.skipped()).toEqual([{ seq: [...forged][0]!, reason: "signature does not verify" }]);
    await expectSameAsOneByOne();
  });
});
