import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import type { NatsConnection } from "@nats-io/transport-node";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CommandHandler } from "../../src/application/command-handler.js";
import { claimHeldByStream } from "../../src/application/name-claims.js";
import { ServiceAccounts } from "../../src/application/service-accounts.js";
import { ConflictError, hintOf, liveKeys, type AccountState } from "../../src/domain/index.js";
import { signedBytes, type StoredEvent } from "../../src/format/envelope.js";
import { ConcurrencyError } from "../../src/events/errors.js";
import type { JetStreamEventStore } from "../../src/events/event-store.js";
import { NameRegistry } from "../../src/events/name-registry.js";
import { createLogger } from "../../src/logger.js";
import { connectNats } from "../../src/nats/index.js";
import { Projector } from "../../src/projections/projector.js";
import { ReadModel } from "../../src/projections/read-model.js";
import type { Signer } from "../../src/signing/ed25519.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { eventually, foldStored, newSigner, openStore, sleep, TEST_ACTOR } from "./support.js";
import { holdProjector } from "../helpers/hold-projector.js";

const STREAM = "T_command_handler";
const logger = createLogger("silent");
const context = { actor: TEST_ACTOR, requestId: null };

let now = new Date("2026-03-01T00:00:00.000Z");
const clock = () => now;

/** What daemon.ts wires for commands: a connection, a store, a read model, its projector, the handler. */
interface Node {
  readonly nc: NatsConnection;
  readonly signer: Signer;
  readonly store: JetStreamEventStore;
  readonly dir: string;
  readonly readModel: ReadModel;
  projector: Projector;
  handler: CommandHandler;
  accounts: ServiceAccounts;
}

let nats: TestNats;
let a: Node;
let b: Node;

function wire(node: Pick<Node, "store" | "readModel" | "projector">, readYourWritesTimeoutMs = 5000) {
  const handler = new CommandHandler(node.store, node.readModel, node.projector, clock, {
    maxAttempts: 5,
    readYourWritesTimeoutMs,
  });
  const accounts = new ServiceAccounts(
    handler,
    new NameRegistry(node.store),
    claimHeldByStream(node.store, clock, 60_000),
    clock,
  );
  return { handler, accounts };
}

async function startNode(): Promise<Node> {
  const nc = await connectNats(nats.url, "test");
  const signer = newSigner();
  const store = await openStore(nc, STREAM, signer);
  const dir = await tempDir("keyledger-readmodel-");
  const readModel = await ReadModel.open(dir);
  const projector = new Projector(store, readModel, logger, { retryDelayMs: 50 });
  await projector.start();
  return { nc, signer, store, dir, readModel, projector, ...wire({ store, readModel, projector }) };
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (node === undefined) return;
  await node.projector.stop();
  await node.readModel.close();
  await node.nc.close();
  await rm(node.dir, { recursive: true, force: true });
}

beforeAll(async () => {
  nats = await startTestNats();
  a = await startNode();
  b = await startNode();
});

afterAll(async () => {
  await stopNode(a);
  await stopNode(b);
  await nats?.stop();
});

/** An account created through daemon A, with the given keys, that daemon B has applied too. */
async function accountOnBoth(name: string, keyNames: readonly string[] = []): Promise<{ id: string; keyIds: string[] }> {
  const { account } = await a.accounts.create({ name, createApiKey: false }, context);
  const keyIds: string[] = [];
  for (const keyName of keyNames) keyIds.push((await a.accounts.createKey(account.id, { name: keyName }, context)).key.id);
  await b.projector.waitFor(await a.store.lastEventSequence(), 5000);
  return { id: account.id, keyIds };
}

/** Makes the next read of the aggregate on each read model wait until all of them have read: all decide on one state. */
function decideOnSameState(nodes: readonly Node[]): () => void {
  let arrived = 0;
  let release!: () => void;
  const barrier = new Promise<void>((resolve) => (release = resolve));
  const spies = nodes.map((node) => {
    const original = node.readModel.aggregate.bind(node.readModel);
    return vi.spyOn(node.readModel, "aggregate").mockImplementationOnce(async (accountId) => {
      const aggregate = await original(accountId);
      if (++arrived === nodes.length) release();
      await barrier;
      return aggregate;
    });
  });
  return () => spies.forEach((spy) => spy.mockRestore());
}

async function history(accountId: string): Promise<StoredEvent[]> {
  return a.store.readAccount(accountId);
}

/** The chain of an account is whole: versions count up, each event points at the previous one, every signature holds. */
function expectWholeChain(events: readonly StoredEvent[], signers: readonly Signer[]): void {
  const keys = new Map(signers.map((signer) => [signer.keyId, signer.publicKey]));
  events.forEach((event, i) => {
    expect(event.accountVersion).toBe(i + 1);
    expect(event.prevHash).toBe(i === 0 ? null : events[i - 1]!.hash);
    const { seq: _seq, hash, signature, ...unsigned } = event;
    const bytes = signedBytes(unsigned);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(hash);
    const publicKey = keys.get(event.signingKeyId);
    expect(publicKey).toBeDefined();
    expect(
      nacl.sign.detached.verify(new Uint8Array(bytes), new Uint8Array(Buffer.from(signature, "base64url")), publicKey!),
    ).toBe(true);
  });
}

const liveNamed = (state: AccountState | null, name: string) => liveKeys(state!).filter((key) => key.name === name);

describe("two daemons on one stream", () => {
  it("never create two keys of one name: one wins, the other gets ConflictError after deciding again", async () => {
    const account = await accountOnBoth("contended-keys");
    const appendA = vi.spyOn(a.store, "append");
    const appendB = vi.spyOn(b.store, "append");
    try {
      for (let round = 0; round < 5; round++) {
        const name = `x${round}`;
        appendA.mockClear();
        appendB.mockClear();
        const restore = decideOnSameState([a, b]);
        const results = await Promise.allSettled([
          a.accounts.createKey(account.id, { name }, context),
          b.accounts.createKey(account.id, { name }, context),
        ]);
        restore();

        const won = results.filter((result) => result.status === "fulfilled");
        const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(ConflictError);
        expect((lost[0] as Error).message).toMatch(/already exists/);
        // Both appended on the same state; the loser's append was refused as a concurrent modification.
        const attempts = [...appendA.mock.settledResults, ...appendB.mock.settledResults];
        expect(attempts).toHaveLength(2);
        expect(attempts.filter((attempt) => attempt.type === "rejected").map((attempt) => attempt.value)).toEqual([
          expect.any(ConcurrencyError),
        ]);
        expect(liveNamed(foldStored(await history(account.id)), name)).toHaveLength(1);
      }
    } finally {
      appendA.mockRestore();
      appendB.mockRestore();
    }

    const events = await history(account.id);
    expect(events.filter((event) => event.type === "ApiKeyCreated")).toHaveLength(5);
    expectWholeChain(events, [a.signer, b.signer]);
    await b.projector.waitFor(events.at(-1)!.seq, 5000);
    await a.projector.waitFor(events.at(-1)!.seq, 5000);
    expect((await a.readModel.aggregate(account.id))?.state).toEqual(foldStored(events));
    expect((await b.readModel.aggregate(account.id))?.state).toEqual(foldStored(events));
  });

  it("never rename two keys to one name", async () => {
    const account = await accountOnBoth("contended-renames", ["k1", "k2"]);
    const restore = decideOnSameState([a, b]);
    const results = await Promise.allSettled([
      a.accounts.updateKey(account.id, account.keyIds[0]!, { name: "shared" }, context),
      b.accounts.updateKey(account.id, account.keyIds[1]!, { name: "shared" }, context),
    ]);
    restore();
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(ConflictError);
    const events = await history(account.id);
    expect(liveNamed(foldStored(events), "shared")).toHaveLength(1);
    expect(events.filter((event) => event.type === "ApiKeyUpdated")).toHaveLength(1);
    expectWholeChain(events, [a.signer, b.signer]);
  });

  it("applies both of two compatible commands made on one state, the second after deciding again", async () => {
    const account = await accountOnBoth("compatible", ["k1"]);
    const restore = decideOnSameState([a, b]);
    const [fromA, fromB] = await Promise.all([
      a.accounts.createKey(account.id, { name: "from-a" }, context),
      b.accounts.updateKey(account.id, account.keyIds[0]!, { name: "k1-renamed", description: "by b" }, context),
    ]);
    restore();
    expect(fromA.key.name).toBe("from-a");
    expect(fromB).toMatchObject({ name: "k1-renamed", description: "by b" });

    const events = await history(account.id);
    const state = foldStored(events);
    expect(
      liveKeys(state!)
        .map((key) => key.name)
        .sort(),
    ).toEqual(["from-a", "k1-renamed"]);
    expectWholeChain(events, [a.signer, b.signer]);
  });

  it("keeps the chain whole under many concurrent writers", async () => {
    const account = await accountOnBoth("busy");
    const names = ["w1", "w2", "w3", "w4"];
    const nodes = [a, b, a, b];
    const created = await Promise.all(names.map((name, i) => nodes[i]!.accounts.createKey(account.id, { name }, context)));
    expect(created.map(({ key }) => key.name)).toEqual(names);
    const events = await history(account.id);
    expect(events).toHaveLength(1 + names.length);
    expectWholeChain(events, [a.signer, b.signer]);
    expect(
      liveKeys(foldStored(events)!)
        .map((key) => key.name)
        .sort(),
    ).toEqual(names);
  });

  it("lets only one daemon create an account of a given name", async () => {
    const results = await Promise.allSettled([
      a.accounts.create({ name: "unique-name", createApiKey: false }, context),
      b.accounts.create({ name: "unique-name", createApiKey: false }, context),
    ]);
    const won = results.flatMap((result) => (result.status === "fulfilled" ? [result.value.account] : []));
    const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(ConflictError);
    await eventually(async () => (await b.readModel.accountIdByName("unique-name")) !== undefined);
    expect(await a.readModel.accountIdByName("unique-name")).toBe(won[0]!.id);
    expect(await b.readModel.accountIdByName("unique-name")).toBe(won[0]!.id);
  });

  it("records the expiry of one retention once, whichever daemons see it due", async () => {
    const account = await accountOnBoth("expiring", ["rotated"]);
    const keyId = account.keyIds[0]!;
    const rotated = await a.accounts.rotateKey(account.id, keyId, 60, context);
    expect(rotated.key.previous).toMatchObject({ generation: 0, expired: false });
    await b.projector.waitFor(await a.store.lastEventSequence(), 5000);
    now = new Date(now.getTime() + 61_000);

    // Decided on the same state, both append the same fact with the same message id.
    const restore = decideOnSameState([a, b]);
    const appends = [vi.spyOn(a.store, "append"), vi.spyOn(b.store, "append")];
    let answers: Array<{ seq: number; duplicate: boolean }>;
    try {
      await Promise.all([
        a.accounts.expireRetention(account.id, keyId, 0, { actor: TEST_ACTOR, requestId: null }),
        b.accounts.expireRetention(account.id, keyId, 0, { actor: TEST_ACTOR, requestId: null }),
      ]);
      answers = (
        await Promise.all(
          appends.flatMap((spy) => spy.mock.results.map((result) => result.value as ReturnType<JetStreamEventStore["append"]>)),
        )
      )
        .flat()
        .map(({ seq, duplicate }) => ({ seq, duplicate }));
    } finally {
      restore();
      appends.forEach((spy) => spy.mockRestore());
    }
    expect(answers).toHaveLength(2);
    expect(answers.map(({ duplicate }) => duplicate).sort()).toEqual([false, true]);
    expect(answers[0]!.seq).toBe(answers[1]!.seq);

    const events = await history(account.id);
    expect(events.filter((event) => event.type === "ApiKeyRetentionExpired")).toHaveLength(1);
    expectWholeChain(events, [a.signer, b.signer]);
    for (const node of [a, b]) expect((await node.readModel.keyRecord(keyId))?.previous?.expired).toBe(true);
  });
});

describe("the answer to a command", () => {
  it("describes the account as the command's own events left it, though the read model holds later ones by then", async () => {
    const { id, keyIds } = await accountOnBoth("answered-own", ["k"]);
    const keyId = keyIds[0]!;
    // Once A's read model holds its rotation, and before A answers, B rotates the same key and A
    // applies that too (as group commit does when both arrive together).
    let later: { secret: string; hint: string } | null = null;
    const waitFor = a.projector.waitFor.bind(a.projector);
    const spy = vi.spyOn(a.projector, "waitFor").mockImplementationOnce(async (seq, timeoutMs) => {
      await waitFor(seq, timeoutMs);
      await b.projector.waitFor(seq, 5000);
      const rotated = await b.accounts.rotateKey(id, keyId, 0, context);
      later = { secret: rotated.secret, hint: rotated.key.hint };
      await waitFor(await b.store.lastEventSequence(), 5000);
    });
    const first = await a.accounts.rotateKey(id, keyId, 0, context);
    spy.mockRestore();
    expect(later).not.toBeNull();
    expect((await a.readModel.aggregate(id))?.state.keys[keyId]?.hint).toBe(later!.hint);
    // A's answer is about A's secret: its hint, not the one the read model holds now.
    expect(first.key.hint).toBe(hintOf(first.secret));
    expect(first.key.hint).not.toBe(later!.hint);
    expect(later!.hint).toBe(hintOf(later!.secret));
  });
});

describe("a daemon whose read model is stale", () => {
  it("reloads once its projector caught up, and decides again", async () => {
    const account = await accountOnBoth("stale-b");
    const held = holdProjector(b);
    const appendB = vi.spyOn(b.store, "append");
    try {
      await a.accounts.createKey(account.id, { name: "x" }, context);
      await a.accounts.createKey(account.id, { name: "z" }, context);
      expect((await b.readModel.aggregate(account.id))?.state.keys).toEqual({});

      setTimeout(held.release, 300);
      // B decides on its stale state, is refused, waits for its projector, then decides again.
      await expect(b.accounts.createKey(account.id, { name: "x" }, context)).rejects.toBeInstanceOf(ConflictError);
      const created = await b.accounts.createKey(account.id, { name: "y" }, context);
      expect(
        liveKeys((await b.readModel.aggregate(account.id))!.state)
          .map((key) => key.name)
          .sort(),
      ).toEqual(["x", "y", "z"]);
      expect(created.key.name).toBe("y");

      const attempts = appendB.mock.settledResults;
      expect(attempts[0]).toEqual({ type: "rejected", value: expect.any(ConcurrencyError) });
      expect(attempts.slice(1).map((attempt) => attempt.type)).toEqual(["fulfilled"]);
    } finally {
      held.release();
      held.restore();
      appendB.mockRestore();
    }
    const events = await history(account.id);
    expect(liveNamed(foldStored(events), "x")).toHaveLength(1);
    expectWholeChain(events, [a.signer, b.signer]);
  });

  it("answers a conflict to retry, and appends nothing, when its projector does not catch up in time", async () => {
    const account = await accountOnBoth("stale-too-long");
    const impatient = wire(b, 200);
    const held = holdProjector(b);
    try {
      await a.accounts.createKey(account.id, { name: "x" }, context);
      const before = await a.store.lastSequenceOfAccount(account.id);
      await expect(impatient.accounts.createKey(account.id, { name: "y" }, context)).rejects.toBeInstanceOf(ConflictError);
      expect(await a.store.lastSequenceOfAccount(account.id)).toBe(before);
    } finally {
      held.release();
      held.restore();
    }
    await b.projector.waitFor(await a.store.lastEventSequence(), 5000);
  });

  it("resumes after a restart of its projector and decides on the current state", async () => {
    const account = await accountOnBoth("restarted-b", ["k1"]);
    await b.projector.stop();
    const checkpoint = await b.readModel.checkpoint();

    await a.accounts.createKey(account.id, { name: "x" }, context);
    await a.accounts.updateKey(account.id, account.keyIds[0]!, { active: false }, context);
    await sleep(100);
    expect(await b.readModel.checkpoint()).toBe(checkpoint);

    // A stopped projector does not start again: a restart is a new projector on the same read model.
    b.projector = new Projector(b.store, b.readModel, logger, { retryDelayMs: 50 });
    Object.assign(b, wire(b));
    await b.projector.start();
    expect(b.projector.appliedSinceStart).toBe(2);

    const appendB = vi.spyOn(b.store, "append");
    try {
      await expect(b.accounts.createKey(account.id, { name: "x" }, context)).rejects.toBeInstanceOf(ConflictError);
      expect(appendB).not.toHaveBeenCalled();
      const activated = await b.accounts.updateKey(account.id, account.keyIds[0]!, { active: true }, context);
      expect(activated.active).toBe(true);
      expect(appendB.mock.settledResults.map((attempt) => attempt.type)).toEqual(["fulfilled"]);
    } finally {
      appendB.mockRestore();
    }
    expectWholeChain(await history(account.id), [a.signer, b.signer]);
  });
});
