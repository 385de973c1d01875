import { randomBytes } from "node:crypto";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { newAccountId, newEventId, newKeyId } from "../../src/application/ids.js";
import { formatApiKey, hashApiKey, hintOf, SECRET_BYTES, type DomainEvent } from "../../src/domain/index.js";
import { JetStreamEventStore } from "../../src/events/index.js";
import {
  accountSubject,
  advancePosition,
  CHECKPOINT_SUBJECT,
  decodeCheckpoint,
  isEventSubject,
  KEYS_SUBJECT,
  sealCheckpoint,
  sealEvent,
  START_POSITION,
  type DigestPosition,
  type EventEnvelope,
  type KeysHead,
} from "../../src/format/index.js";
import type { Signer } from "../../src/signing/index.js";
import { foldStatements } from "../../src/trust/index.js";

/**
 * A large, valid history written straight to the stream, as a daemon would have written it: each
 * account is created, then gets `keysPerAccount` keys. Every envelope is sealed, chained and signed
 * with the given key (one the ledger trusts: the daemon's own), so daemons, rebuilds and audits accept it.
 * Every `checkpointEvery` events it appends a signed checkpoint of the running digest, chained to
 * the last one and listing no refused message, as a daemon that applied them would (one every 10 s
 * at 1,000 writes a second). Nothing else may write to the stream while it fills: sequences are counted.
 */
export class BulkHistory {
  /** Keys whose plaintext is kept (the first `sampleSize`), to verify against later. */
  readonly sampleKeys: string[] = [];
  /** The first envelopes as sealed (the raw audit loop checks them). */
  readonly sampleEnvelopes: EventEnvelope[] = [];
  /** The last key written: once it verifies, a daemon has applied everything. */
  lastKey = "";
  /** Events written so far. */
  written = 0;
  keys = 0;
  private account: { id: string; version: number; hash: string | null; keysLeft: number } | null = null;
  private accountsMade = 0;
  /** The stream's last sequence, as counted. */
  private seq = 0;
  private position: DigestPosition = START_POSITION;
  private lastCheckpoint: { hash: string; upToSeq: number } | null = null;
  private keysHead: KeysHead | null = null;
  /** Checkpoints appended. */
  checkpoints = 0;
  /** Every account written, with the sequence of its creation. */
  readonly accounts: Array<{ readonly id: string; readonly seq: number }> = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly store: JetStreamEventStore,
    readonly signer: Signer,
    private readonly keysPerAccount: number,
    private readonly sampleSize: number,
    private readonly checkpointEvery: number,
  ) {}

  static async open(
    nc: NatsConnection,
    options: { stream: string; keysPerAccount: number; sampleSize: number; signer: Signer; checkpointEvery: number },
  ): Promise<BulkHistory> {
    const { signer } = options;
    const store = await JetStreamEventStore.open(nc, signer, {
      stream: options.stream,
      replicas: 1,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 60_000,
    });
    const history = new BulkHistory(nc, store, signer, options.keysPerAccount, options.sampleSize, options.checkpointEvery);
    await history.readStream();
    return history;
  }

  /** Where the stream stands: its running digest, last checkpoint and last key statement that counts. */
  private async readStream(): Promise<void> {
    const statements: Array<{ seq: number; data: Uint8Array }> = [];
    this.position = START_POSITION;
    this.lastCheckpoint = null;
    for await (const message of this.store.messages({ fromSeq: 1 })) {
      this.seq = message.seq;
      if (isEventSubject(message.subject)) this.position = advancePosition(this.position, message.seq, message.data);
      else if (message.subject === KEYS_SUBJECT) statements.push({ seq: message.seq, data: message.data });
      else if (message.subject === CHECKPOINT_SUBJECT) {
        const checkpoint = decodeCheckpoint(message.data);
        this.lastCheckpoint = { hash: checkpoint.hash, upToSeq: checkpoint.upToSeq };
      }
    }
    const counted = foldStatements(statements).records.filter((record) => record.problem === null && record.statement !== null);
    const last = counted.at(-1);
    this.keysHead = last === undefined ? null : { seq: last.seq, version: last.statement!.version, hash: last.statement!.hash };
  }

  /**
   * Appends events until `total` have been written. Most go out as plain NATS publishes (the
   * stream stores them all the same); every 500th waits for JetStream's acknowledgement, which
   * (one connection, one stream, in order) confirms everything before it and paces the writer.
   */
  async fillTo(total: number): Promise<void> {
    // Daemons run between two fills append checkpoints of their own: the next ones chain to theirs.
    if ((await this.store.head()) !== this.seq) await this.readStream();
    while (this.written < total) {
      const { subject, body, type, schemaVersion } = this.next();
      // The headers a daemon's event store writes: the revocation relay passes over events whose
      // type header says they revoke nothing, without reading them.
      const hdrs = headers();
      hdrs.set("Kl-Event-Type", type);
      hdrs.set("Kl-Schema-Version", String(schemaVersion));
      if (this.written % 500 === 0 || this.written === total)
        await this.store.jetstream.publish(subject, body, { headers: hdrs });
      else this.nc.publish(subject, body, { headers: hdrs });
      if (this.written % this.checkpointEvery === 0) await this.appendCheckpoint();
    }
    const stored = await this.store.head();
    if (stored !== this.seq) throw new Error(`the stream holds ${stored} messages, ${this.seq} were expected`);
  }

  private async appendCheckpoint(): Promise<void> {
    const checkpoint = sealCheckpoint(
      this.position,
      this.lastCheckpoint?.hash ?? null,
      new Date().toISOString(),
      this.signer,
      this.keysHead,
      { after: this.lastCheckpoint?.upToSeq ?? 0, seqs: [] },
    );
    const ack = await this.store.jetstream.publish(CHECKPOINT_SUBJECT, JSON.stringify(checkpoint));
    this.seq += 1;
    if (ack.seq !== this.seq) throw new Error(`a checkpoint landed at ${ack.seq}, not at ${this.seq}`);
    this.lastCheckpoint = { hash: checkpoint.hash, upToSeq: checkpoint.upToSeq };
    this.checkpoints += 1;
  }

  private next(): { subject: string; body: string; type: string; schemaVersion: number } {
    const now = new Date().toISOString();
    let event: DomainEvent;
    if (this.account === null || this.account.keysLeft === 0) {
      const id = newAccountId();
      this.account = { id, version: 0, hash: null, keysLeft: this.keysPerAccount };
      event = {
        type: "ServiceAccountCreated",
        accountId: id,
        occurredAt: now,
        data: { name: `bulk-${this.accountsMade++}`, description: "bench history", roles: ["verifier"], active: true },
      };
    } else {
      const keyId = newKeyId();
      const key = formatApiKey(keyId, randomBytes(SECRET_BYTES));
      if (this.sampleKeys.length < this.sampleSize) this.sampleKeys.push(key);
      this.lastKey = key;
      this.account.keysLeft -= 1;
      this.keys += 1;
      event = {
        type: "ApiKeyCreated",
        accountId: this.account.id,
        occurredAt: now,
        data: {
          keyId,
          name: `key-${this.account.keysLeft}`,
          description: "",
          expiresAt: null,
          secretHash: hashApiKey(key),
          hint: hintOf(key),
        },
      };
    }
    const account = this.account;
    const envelope = sealEvent(
      event,
      {
        id: newEventId(),
        actor: { kind: "system", reason: "bootstrap" },
        requestId: null,
        accountVersion: account.version + 1,
        prevHash: account.hash,
      },
      this.signer,
    );
    if (this.sampleEnvelopes.length < this.sampleSize) this.sampleEnvelopes.push(envelope);
    account.version = envelope.accountVersion;
    account.hash = envelope.hash;
    this.written += 1;
    const body = JSON.stringify(envelope);
    this.seq += 1;
    this.position = advancePosition(this.position, this.seq, Buffer.from(body, "utf8"));
    if (event.type === "ServiceAccountCreated") this.accounts.push({ id: account.id, seq: this.seq });
    return { subject: accountSubject(account.id), body, type: event.type, schemaVersion: envelope.schemaVersion };
  }
}
