import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { newAccountId, newEventId, newKeyId } from "../../src/application/ids.js";
import { formatApiKey, hashApiKey, hintOf, SECRET_BYTES, type DomainEvent } from "../../src/domain/index.js";
import { JetStreamEventStore } from "../../src/events/index.js";
import { accountSubject, sealEvent, type EventEnvelope } from "../../src/format/index.js";
import type { Signer } from "../../src/signing/index.js";

/**
 * A large, valid history written straight to the stream, as a daemon would have written it: each
 * account is created, then gets `keysPerAccount` keys. Every envelope is sealed, chained and signed
 * with the given key (one the ledger trusts: the daemon's own), so daemons, rebuilds and audits accept it.
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
  private accounts = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly store: JetStreamEventStore,
    readonly signer: Signer,
    private readonly keysPerAccount: number,
    private readonly sampleSize: number,
  ) {}

  static async open(
    nc: NatsConnection,
    options: { stream: string; keysPerAccount: number; sampleSize: number; signer: Signer },
  ): Promise<BulkHistory> {
    const { signer } = options;
    const store = await JetStreamEventStore.open(nc, signer, {
      stream: options.stream,
      replicas: 1,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 60_000,
    });
    return new BulkHistory(nc, store, signer, options.keysPerAccount, options.sampleSize);
  }

  /**
   * Appends events until `total` have been written. Most go out as plain NATS publishes (the
   * stream stores them all the same); every 500th waits for JetStream's acknowledgement, which
   * (one connection, one stream, in order) confirms everything before it and paces the writer.
   */
  async fillTo(total: number): Promise<void> {
    const head = (await this.store.head()) + (total - this.written);
    while (this.written < total) {
      const { subject, body } = this.next();
      if (this.written % 500 === 0 || this.written === total) await this.store.jetstream.publish(subject, body);
      else this.nc.publish(subject, body);
    }
    const stored = await this.store.head();
    // (A daemon running beside may add a checkpoint meanwhile: at least, not exactly.)
    if (stored < head) throw new Error(`the stream holds ${stored} messages, at least ${head} were expected`);
  }

  private next(): { subject: string; body: string } {
    const now = new Date().toISOString();
    let event: DomainEvent;
    if (this.account === null || this.account.keysLeft === 0) {
      const id = newAccountId();
      this.account = { id, version: 0, hash: null, keysLeft: this.keysPerAccount };
      event = {
        type: "ServiceAccountCreated",
        accountId: id,
        occurredAt: now,
        data: { name: `bulk-${this.accounts++}`, description: "bench history", roles: ["verifier"], active: true },
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
    return { subject: accountSubject(account.id), body: JSON.stringify(envelope) };
  }
}
