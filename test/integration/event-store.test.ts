import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAccountId, newEventId } from "../../src/application/ids.js";
import { decide, fold, type DomainEvent } from "../../src/domain/index.js";
import { signedBytes, toDomainEvent, type EventEnvelope } from "../../src/format/envelope.js";
import { ConcurrencyError, StoreUnavailableError } from "../../src/events/errors.js";
import type { JetStreamEventStore } from "../../src/events/event-store.js";
import { accountSubject, STREAM_SUBJECTS } from "../../src/format/subjects.js";
import { connectNats } from "../../src/nats/index.js";
import type { Signer } from "../../src/signing/ed25519.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { command, createAccount, createKey, newSigner, openStore, runOnStream, TEST_ACTOR } from "./support.js";

// The stream's subjects are fixed, so one server holds one keyledger stream: the tests of this file
// share it and keep apart by using accounts of their own.
const STREAM = "T_event_store";

let nats: TestNats;
let nc: NatsConnection;
let store: JetStreamEventStore;
let signer: Signer;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "test");
  signer = newSigner();
  store = await openStore(nc, STREAM, signer);
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Checks an envelope with tweetnacl and node's SHA-256, independently of the daemon's signer. */
function verifyIndependently(envelope: EventEnvelope, publicKey: Uint8Array): { signatureValid: boolean; hash: string } {
  const { hash: _hash, signature, ...unsigned } = envelope;
  const bytes = signedBytes(unsigned);
  return {
    signatureValid: nacl.sign.detached.verify(
      new Uint8Array(bytes),
      new Uint8Array(Buffer.from(signature, "base64url")),
      publicKey,
    ),
    hash: createHash("sha256").update(bytes).digest("hex"),
  };
}

const appendContext = { actor: TEST_ACTOR, requestId: "req_test", newEventId };

describe("the event stream", () => {
  it("is created immutable: deletes and purges denied, with the configured replicas and subjects", async () => {
    const stream = STREAM;
    expect(await store.lastEventSequence()).toBe(0);
    expect(await store.lastSequenceOfAccount(newAccountId())).toBe(0);
    expect(await store.readAccount(newAccountId())).toEqual([]);
    const info = await store.manager.streams.info(stream);
    expect(info.config.deny_delete).toBe(true);
    expect(info.config.deny_purge).toBe(true);
    expect(info.config.num_replicas).toBe(1);
    expect(info.config.allow_rollup_hdrs).toBe(false);
    expect(info.config.duplicate_window).toBe(120_000 * 1_000_000);
    expect([...info.config.subjects].sort()).toEqual([...STREAM_SUBJECTS].sort());

    const accountId = newAccountId();
    const [created] = await runOnStream(store, createAccount(accountId, "immutable"));
    await expect(store.manager.streams.deleteMessage(stream, created!.seq)).rejects.toThrow(/not permitted/);
    await expect(store.manager.streams.deleteMessage(stream, created!.seq, false)).rejects.toThrow(/not permitted/);
    await expect(store.manager.streams.purge(stream)).rejects.toThrow(/not permitted/);
    await expect(store.manager.streams.purge(stream, { filter: accountSubject(accountId) })).rejects.toThrow(/not permitted/);

    const after = await store.manager.streams.info(stream);
    expect(after.state.messages).toBe(1);
    expect((await store.readAccount(accountId)).map((event) => event.id)).toEqual([created!.envelope.id]);
  });

  it("cannot be made mutable again, and reopening it keeps it as it is", async () => {
    const { config } = await store.manager.streams.info(STREAM);
    await expect(store.manager.streams.update(STREAM, { ...config, deny_delete: false })).rejects.toThrow();
    await expect(store.manager.streams.update(STREAM, { ...config, deny_purge: false })).rejects.toThrow();
    const reopened = await openStore(nc, STREAM);
    const info = await reopened.manager.streams.info(STREAM);
    expect(info.config).toMatchObject({ deny_delete: true, deny_purge: true, num_replicas: 1 });
    expect(info.config.subjects).toEqual(config.subjects);
  });
});

describe("appending events", () => {
  it("chains each event to the previous one of its account and signs it with standard Ed25519", async () => {
    const accountId = newAccountId();
    const create = createAccount(accountId, "chained");
    const first = await store.append(
      accountId,
      { expectedSeq: 0, prevHash: null, version: 0 },
      decide(create, null),
      appendContext,
    );
    expect(first).toHaveLength(1);
    expect(first[0]!.duplicate).toBe(false);
    expect(first[0]!.envelope.prevHash).toBeNull();
    expect(first[0]!.envelope.accountVersion).toBe(1);

    // Several events of one decision chain among themselves, and onto what came before.
    const afterCreate = fold(decide(create, null));
    const more = [createKey(accountId, "a"), createKey(accountId, "b"), createKey(accountId, "c")].flatMap((cmd) =>
      decide(cmd, afterCreate),
    );
    const rest = await store.append(
      accountId,
      { expectedSeq: first[0]!.seq, prevHash: first[0]!.envelope.hash, version: 1 },
      more,
      appendContext,
    );
    const all = [...first, ...rest];
    expect(all.map((entry) => entry.envelope.accountVersion)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.envelope.prevHash).toBe(all[i - 1]!.envelope.hash);
      expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);
    }

    // What was stored is what was answered, and any Ed25519 implementation accepts it.
    const stored = await store.readAccount(accountId);
    expect(stored.map((event) => event.seq)).toEqual(all.map((entry) => entry.seq));
    for (const [i, event] of stored.entries()) {
      const { seq: _seq, ...envelope } = event;
      expect(envelope).toEqual(all[i]!.envelope);
      expect(event.signingKeyId).toBe(signer.keyId);
      const checked = verifyIndependently(envelope, signer.publicKey);
      expect(checked.signatureValid).toBe(true);
      expect(checked.hash).toBe(event.hash);
      if (i > 0) expect(event.prevHash).toBe(stored[i - 1]!.hash);
    }
  });

  it("makes any change to a stored event detectable", async () => {
    const accountId = newAccountId();
    const [created] = await runOnStream(store, createAccount(accountId, "tamper-evident"));
    const original = created!.envelope;
    const tampered = { ...original, data: { ...original.data, name: "someone-else" } } as EventEnvelope;
    const checked = verifyIndependently(tampered, signer.publicKey);
    expect(checked.signatureValid).toBe(false);
    expect(checked.hash).not.toBe(original.hash);
    expect(verifyIndependently(original, newSigner().publicKey).signatureValid).toBe(false);
  });

  it("refuses a stale expected sequence with ConcurrencyError and appends nothing", async () => {
    const accountId = newAccountId();
    const [created] = await runOnStream(store, createAccount(accountId, "contended"));
    const [keyCreated] = await runOnStream(store, createKey(accountId, "first"));
    const head = await store.lastEventSequence();
    const messagesBefore = (await store.manager.streams.info(store.options.stream)).state.messages;

    // Decided on the state after the creation only: the key's event moved the account on.
    const stale = store.append(
      accountId,
      { expectedSeq: created!.seq, prevHash: created!.envelope.hash, version: 1 },
      decide(createKey(accountId, "second"), fold([toDomainEvent(created!.envelope)])),
      appendContext,
    );
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ accountId });

    // A brand-new account expected to be empty, which is not.
    await expect(
      store.append(
        accountId,
        { expectedSeq: 0, prevHash: null, version: 0 },
        decide(createAccount(accountId, "again"), null),
        appendContext,
      ),
    ).rejects.toBeInstanceOf(ConcurrencyError);

    expect(await store.lastEventSequence()).toBe(head);
    expect((await store.manager.streams.info(store.options.stream)).state.messages).toBe(messagesBefore);
    expect((await store.readAccount(accountId)).map((event) => event.seq)).toEqual([created!.seq, keyCreated!.seq]);
  });

  it("records a fact once when it is appended twice with the same message id", async () => {
    const accountId = newAccountId();
    const [created] = await runOnStream(store, createAccount(accountId, "deduplicated"));
    const keyCommand = createKey(accountId, "once");
    const events = decide(keyCommand, fold([toDomainEvent(created!.envelope)]));
    const msgIdOf = (event: DomainEvent) => (event.type === "ApiKeyCreated" ? `key-created:${event.data.keyId}` : undefined);
    const position = { expectedSeq: created!.seq, prevHash: created!.envelope.hash, version: 1 };

    const first = await store.append(accountId, position, events, { ...appendContext, msgIdOf });
    const messages = (await store.manager.streams.info(store.options.stream)).state.messages;
    // The retry of a second daemon, decided on the same state: the message id wins over the expected sequence.
    const second = await store.append(accountId, position, events, { ...appendContext, msgIdOf });

    expect(first[0]!.duplicate).toBe(false);
    expect(second[0]!.duplicate).toBe(true);
    expect(second[0]!.seq).toBe(first[0]!.seq);
    expect((await store.manager.streams.info(store.options.stream)).state.messages).toBe(messages);
    const stored = await store.readAccount(accountId);
    expect(stored.map((event) => event.type)).toEqual(["ServiceAccountCreated", "ApiKeyCreated"]);
    expect(stored[1]!.id).toBe(first[0]!.envelope.id);
  });

  it("reads an account's events in order and knows the last sequences, 0 for none", async () => {
    const before = await store.lastEventSequence();
    expect(await store.lastSequenceOfAccount(newAccountId())).toBe(0);
    expect(await store.readAccount(newAccountId())).toEqual([]);

    const one = newAccountId();
    const two = newAccountId();
    const seqs: Record<string, number[]> = { [one]: [], [two]: [] };
    const run = async (cmd: Parameters<typeof runOnStream>[1]) => {
      for (const { seq } of await runOnStream(store, cmd)) seqs[cmd.accountId]!.push(seq);
    };
    await run(createAccount(one, "one"));
    await run(createAccount(two, "two"));
    for (const name of ["k1", "k2", "k3"]) {
      await run(createKey(one, name));
      await run(createKey(two, name));
    }
    await run(command("DeactivateServiceAccount", one, {}));

    const readOne = await store.readAccount(one);
    expect(readOne.map((event) => event.seq)).toEqual(seqs[one]);
    expect(readOne.every((event) => event.accountId === one)).toBe(true);
    expect(readOne.map((event) => event.type)).toEqual([
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ApiKeyCreated",
      "ApiKeyCreated",
      "ServiceAccountDeactivated",
    ]);
    expect(readOne.map((event) => event.accountVersion)).toEqual([1, 2, 3, 4, 5]);
    expect((await store.readAccount(two)).map((event) => event.seq)).toEqual(seqs[two]);

    expect(await store.lastSequenceOfAccount(one)).toBe(seqs[one]!.at(-1));
    expect(await store.lastSequenceOfAccount(two)).toBe(seqs[two]!.at(-1));
    expect(await store.lastEventSequence()).toBe(Math.max(...seqs[one]!, ...seqs[two]!));
    expect(await store.lastEventSequence()).toBe(before + 9);
  });

  it("answers StoreUnavailableError, not a NATS error, when the connection is closed", async () => {
    const stream = STREAM;
    const messagesBefore = (await store.manager.streams.info(stream)).state.messages;
    const own = await connectNats(nats.url, "test");
    const closedStore = await openStore(own, stream);
    // This one believes it is connected, so that the append reaches the publish itself.
    const unaware = await openStore(own, stream, newSigner(), () => true);
    const accountId = newAccountId();
    await own.close();

    for (const target of [closedStore, unaware]) {
      const append = target.append(
        accountId,
        { expectedSeq: 0, prevHash: null, version: 0 },
        decide(createAccount(accountId, "unreachable"), null),
        appendContext,
      );
      await expect(append).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(target.lastEventSequence()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(target.readAccount(accountId)).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    await expect(openStore(own, stream)).rejects.toBeInstanceOf(StoreUnavailableError);

    // Nothing reached the stream.
    expect((await store.manager.streams.info(stream)).state.messages).toBe(messagesBefore);
  });
});
