import { headers, type NatsConnection } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import type { Actor, DomainEvent } from "../domain/index.js";
import type { Signer } from "../signing/index.js";
import { ConcurrencyError, StoreUnavailableError, StreamMissingError } from "./errors.js";
import { decodeEnvelope, sealEvent, type EventEnvelope, type RawMessage, type StoredEvent } from "../format/index.js";
import type { KeyStatement } from "../trust/index.js";
import { accountSubject, ALL_EVENTS_FILTER, CHECKPOINT_SUBJECT, KEYS_SUBJECT, STREAM_SUBJECTS } from "../format/index.js";
import { decodeCheckpoint, type StreamCheckpoint } from "../format/index.js";
import { isUnavailable, isWrongLastSequence, translate } from "./nats-errors.js";
import { ensureStream } from "./streams.js";
import { TurnBatch } from "../turn-batch.js";

const PUBLISH_ATTEMPTS = 3;
/**
 * Reads make short-lived ordered consumers; the server removes each this long after its last pull
 * (the client library's default is 5 minutes, which piles them up under many reads and tails).
 */
const READER_INACTIVE_MS = 10_000;

export interface EventStoreOptions {
  readonly stream: string;
  readonly replicas: number;
  /** How long JetStream remembers message ids for deduplication. */
  readonly duplicateWindowMs: number;
  /**
   * How long one request to JetStream waits for its answer: each attempt of an append, and every
   * read and name claim made through this store, so that nothing waits longer on a lost server.
   */
  readonly publishTimeoutMs: number;
  /** Whether the connection is up now, so that a write fails at once while it is down. */
  readonly connected?: () => boolean;
  /**
   * The stream must exist already (a read model or a pinned trust anchor says this ledger had
   * one): a missing stream is a `StreamMissingError`, never silently created empty.
   */
  readonly mustExist?: boolean;
  /** Whether an existing stream is brought to keyledger's settings (default: yes; a rebuild leaves it alone). */
  readonly reconfigure?: boolean;
}

/** Where the account's chain stands: the decision was made on this state. */
export interface AppendPosition {
  readonly expectedSeq: number;
  readonly prevHash: string | null;
  readonly version: number;
}

export interface AppendContext {
  readonly actor: Actor;
  readonly requestId: string | null;
  readonly newEventId: () => string;
  /** A message id derived from the fact, where a retry or a second daemon could record the same fact. */
  readonly msgIdOf?: (event: DomainEvent) => string | undefined;
}

export interface Appended {
  readonly seq: number;
  readonly envelope: EventEnvelope;
  readonly duplicate: boolean;
}

/** The JetStream stream as the source of truth: appends with optimistic concurrency, reads in order. */
export class JetStreamEventStore {
  /** Signatures this store made lately, by event hash (bounded): its own events need no re-check. */
  private readonly sealed = new Map<string, string>();
  /** Publishes of one turn of the event loop leave in one socket write. */
  private readonly turn = new TurnBatch();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly connected: () => boolean,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly signer: Signer,
    readonly options: EventStoreOptions,
  ) {}

  static async open(nc: NatsConnection, signer: Signer, options: EventStoreOptions): Promise<JetStreamEventStore> {
    try {
      const api = { timeout: options.publishTimeoutMs };
      const jsm = await jetstreamManager(nc, api);
      const connected = options.connected ?? (() => !nc.isClosed());
      const store = new JetStreamEventStore(nc, connected, jetstream(nc, api), jsm, signer, options);
      await ensureStream(jsm, {
        name: options.stream,
        subjects: STREAM_SUBJECTS,
        replicas: options.replicas,
        duplicateWindowMs: options.duplicateWindowMs,
        create: options.mustExist !== true,
        reconfigure: options.reconfigure !== false,
      });
      return store;
    } catch (error) {
      throw translate(error, "opening the event stream");
    }
  }

  /**
   * Appends the events of one decision in order, each with the expected last sequence of the
   * account's subject and a message id. A moved-on account becomes a ConcurrencyError; a message
   * id seen before answers with the original sequence (`duplicate`).
   */
  async append(
    accountId: string,
    position: AppendPosition,
    events: readonly DomainEvent[],
    context: AppendContext,
  ): Promise<Appended[]> {
    const subject = accountSubject(accountId);
    if (!this.connected()) throw new StoreUnavailableError("the event store is not connected");
    const appended: Appended[] = [];
    let { expectedSeq, prevHash, version } = position;
    for (const event of events) {
      const envelope = sealEvent(
        event,
        { id: context.newEventId(), actor: context.actor, requestId: context.requestId, accountVersion: version + 1, prevHash },
        this.signer,
      );
      this.remember(envelope);
      const msgId = context.msgIdOf?.(event) ?? envelope.id;
      let ack: { seq: number; duplicate: boolean };
      try {
        ack = await this.publish(subject, envelope, msgId, expectedSeq, accountId);
      } catch (error) {
        if (error instanceof StoreUnavailableError && appended.length > 0 && !error.mayHaveWritten) {
          throw new StoreUnavailableError("the event store failed in the middle of a change", {
            cause: error,
            mayHaveWritten: true,
          });
        }
        throw error;
      }
      // A duplicate was stored earlier, by another daemon or attempt: the chain goes on from that one.
      const stored = ack.duplicate ? await this.envelopeAt(ack.seq) : envelope;
      if (!ack.duplicate) this.appendedCounts.set(envelope.type, (this.appendedCounts.get(envelope.type) ?? 0) + 1);
      appended.push({ seq: ack.seq, envelope: stored, duplicate: ack.duplicate });
      expectedSeq = ack.seq;
      prevHash = stored.hash;
      version = stored.accountVersion;
    }
    return appended;
  }

  private readonly appendedCounts = new Map<string, number>();

  /** Events this store appended since it opened (duplicates not counted), by type. */
  get appendedByType(): ReadonlyMap<string, number> {
    return this.appendedCounts;
  }

  private remember(envelope: EventEnvelope): void {
    this.sealed.set(envelope.hash, envelope.signature);
    if (this.sealed.size > 10_000) this.sealed.delete(this.sealed.keys().next().value as string);
  }

  /**
   * Whether this store itself signed exactly this event (same hash, same signature) lately: the
   * projector of the same daemon then skips the Ed25519 check, which would only repeat its own work.
   */
  sealedHere(envelope: EventEnvelope): boolean {
    return this.sealed.get(envelope.hash) === envelope.signature;
  }

  private async publish(
    subject: string,
    envelope: EventEnvelope,
    msgId: string,
    expectedSeq: number,
    accountId: string,
  ): Promise<{ seq: number; duplicate: boolean }> {
    const hdrs = headers();
    hdrs.set("Kl-Event-Type", envelope.type);
    hdrs.set("Kl-Schema-Version", String(envelope.schemaVersion));
    const payload = JSON.stringify(envelope);
    let lastError: unknown;
    for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS; attempt++) {
      try {
        const ack = await this.turn.run(() =>
          this.js.publish(subject, payload, {
            msgID: msgId,
            expect: { lastSubjectSequence: expectedSeq },
            headers: hdrs,
            timeout: this.options.publishTimeoutMs,
          }),
        );
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        if (isWrongLastSequence(error)) throw new ConcurrencyError(accountId);
        // The outcome of a timed-out publish is unknown; the same message id makes the retry safe.
        if (!isUnavailable(error)) throw translate(error, "appending an event");
        lastError = error;
      }
    }
    throw new StoreUnavailableError("the event store did not confirm the write", { cause: lastError, mayHaveWritten: true });
  }

  private async envelopeAt(seq: number): Promise<EventEnvelope> {
    try {
      const message = await this.jsm.streams.getMessage(this.options.stream, { seq });
      if (message === null) throw new Error(`message ${seq} is missing from the stream`);
      return decodeEnvelope(message.data);
    } catch (error) {
      throw translate(error, "reading an event");
    }
  }

  /** The stream sequence of the last message on a subject (wildcards allowed), 0 when there is none. */
  async lastSequence(subject: string): Promise<number> {
    try {
      const message = await this.jsm.streams.getMessage(this.options.stream, { last_by_subj: subject });
      return message?.seq ?? 0;
    } catch (error) {
      throw translate(error, "reading the event stream");
    }
  }

  async lastSequenceOfAccount(accountId: string): Promise<number> {
    return this.lastSequence(accountSubject(accountId));
  }

  async lastEventSequence(): Promise<number> {
    return this.lastSequence(ALL_EVENTS_FILTER);
  }

  /** Every event of one account from the stream, in order. */
  async readAccount(accountId: string): Promise<StoredEvent[]> {
    const last = await this.lastSequenceOfAccount(accountId);
    if (last === 0) return [];
    return this.read(accountSubject(accountId), 1, last);
  }

  /** Events from `fromSeq` up to `toSeq` (inclusive) matching a subject filter. */
  async read(filter: string, fromSeq: number, toSeq: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    // An ordered consumer waits for a first message forever: read only where there is one.
    if (toSeq < fromSeq || (await this.lastSequence(filter)) < fromSeq) return events;
    try {
      const consumer = await this.js.consumers.get(this.options.stream, {
        inactive_threshold: READER_INACTIVE_MS,
        filter_subjects: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, fromSeq),
      });
      const messages = await consumer.consume({ max_messages: 256 });
      try {
        for await (const message of messages) {
          if (message.seq > toSeq) break;
          const event = tryDecode(message.data);
          if (event !== null) events.push({ ...event, seq: message.seq });
          if (message.seq === toSeq || message.info.pending === 0) break;
        }
      } finally {
        await messages.close();
      }
      return events;
    } catch (error) {
      throw translate(error, "reading the event stream");
    }
  }

  /** The sequence of the last message of the stream (events, name claims and checkpoints), 0 when empty. */
  async head(): Promise<number> {
    try {
      return (await this.jsm.streams.info(this.options.stream)).state.last_seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.status === 404) throw new StreamMissingError(this.options.stream);
      throw translate(error, "reading the event stream");
    }
  }

  /**
   * The raw messages of the stream in order, from `fromSeq` up to `toSeq` (inclusive, default: the
   * head when the read starts), optionally only those matching a subject filter.
   */
  async *messages(options: { fromSeq: number; toSeq?: number; filter?: string }): AsyncGenerator<RawMessage> {
    const toSeq = options.toSeq ?? (await this.head());
    const last = options.filter === undefined ? toSeq : Math.min(toSeq, await this.lastSequence(options.filter));
    if (last < Math.max(1, options.fromSeq)) return;
    let messages: ConsumerMessages;
    try {
      const consumer = await this.js.consumers.get(this.options.stream, {
        inactive_threshold: READER_INACTIVE_MS,
        ...(options.filter === undefined ? {} : { filter_subjects: options.filter }),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, options.fromSeq),
      });
      messages = await consumer.consume({ max_messages: 1024 });
    } catch (error) {
      throw translate(error, "reading the event stream");
    }
    try {
      for await (const message of messages) {
        if (message.seq > last) break;
        yield { seq: message.seq, subject: message.subject, data: message.data, time: message.time };
        if (message.seq >= last || message.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
  }

  /** When the stream stored the message at `seq` (null: there is none). */
  async timeOf(seq: number): Promise<Date | null> {
    try {
      const message = await this.jsm.streams.getMessage(this.options.stream, { seq });
      return message?.time ?? null;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.status === 404) return null;
      throw translate(error, "reading the event stream");
    }
  }

  /** The sequence of the last message the stream stored at or before `at` (0: none). */
  async lastSequenceAt(at: Date): Promise<number> {
    let state: { first_seq: number; last_seq: number; messages: number };
    try {
      state = (await this.jsm.streams.info(this.options.stream)).state;
    } catch (error) {
      throw translate(error, "reading the event stream");
    }
    if (state.messages === 0) return state.last_seq;
    const [first, last] = await Promise.all([this.timeOf(state.first_seq), this.timeOf(state.last_seq)]);
    if (last !== null && last.getTime() <= at.getTime()) return state.last_seq;
    // Before the first message: answered here, since the server cannot take an instant that far back.
    if (first === null || at.getTime() < first.getTime()) return state.first_seq - 1;
    try {
      // The first message stored after `at` (time stamps have nanoseconds; ours have milliseconds).
      const consumer = await this.js.consumers.get(this.options.stream, {
        inactive_threshold: READER_INACTIVE_MS,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: new Date(at.getTime() + 1).toISOString(),
      });
      const next = await consumer.next({ expires: this.options.publishTimeoutMs });
      if (next === null) throw new StoreUnavailableError("the event store did not answer in time");
      return next.seq - 1;
    } catch (error) {
      throw translate(error, "reading the event stream");
    }
  }

  /** Follows the stream live from after `afterSeq`, for as long as the caller reads (close to stop). */
  async tail(afterSeq: number, filter?: string): Promise<ConsumerMessages> {
    try {
      const consumer = await this.js.consumers.get(this.options.stream, {
        inactive_threshold: READER_INACTIVE_MS,
        ...(filter === undefined ? {} : { filter_subjects: filter }),
        ...(afterSeq <= 0
          ? { deliver_policy: DeliverPolicy.All }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }),
      });
      return await consumer.consume({ max_messages: 256 });
    } catch (error) {
      throw translate(error, "following the event stream");
    }
  }

  /**
   * Appends a signing key statement after the message at `expectedSeq` on `kl.keys` (0: the
   * first); another message appended there meanwhile is a ConcurrencyError. Answers its sequence.
   * The message id is the statement's own hash: nobody can take it ahead of time, and a duplicate
   * answer (a retry of this very statement) counts only once the stored message is read back equal.
   */
  async appendStatement(statement: KeyStatement, expectedSeq: number): Promise<number> {
    if (!this.connected()) throw new StoreUnavailableError("the event store is not connected");
    const payload = JSON.stringify(statement);
    let ack: { seq: number; duplicate: boolean };
    try {
      ack = await this.js.publish(KEYS_SUBJECT, payload, {
        msgID: `statement:${statement.hash}`,
        expect: { lastSubjectSequence: expectedSeq },
        timeout: this.options.publishTimeoutMs,
      });
    } catch (error) {
      if (isWrongLastSequence(error)) throw new ConcurrencyError(KEYS_SUBJECT);
      throw translate(error, "appending a signing key statement");
    }
    if (ack.duplicate && !(await this.holds(ack.seq, KEYS_SUBJECT, payload))) throw new ConcurrencyError(KEYS_SUBJECT);
    return ack.seq;
  }

  /** Whether the stream holds exactly `payload` on `subject` at `seq`. */
  private async holds(seq: number, subject: string, payload: string): Promise<boolean> {
    try {
      const message = await this.jsm.streams.getMessage(this.options.stream, { seq });
      return message !== null && message.subject === subject && message.string() === payload;
    } catch (error) {
      throw translate(error, "reading an appended message back");
    }
  }

  /** The last stream checkpoint with its sequence, or null when there is none (or it is unreadable). */
  async lastCheckpoint(): Promise<{ seq: number; checkpoint: StreamCheckpoint | null } | null> {
    try {
      const message = await this.jsm.streams.getMessage(this.options.stream, { last_by_subj: CHECKPOINT_SUBJECT });
      if (message === null) return null;
      try {
        return { seq: message.seq, checkpoint: decodeCheckpoint(message.data) };
      } catch {
        return { seq: message.seq, checkpoint: null };
      }
    } catch (error) {
      throw translate(error, "reading the last checkpoint");
    }
  }

  /**
   * Appends a checkpoint after the one at `expectedSeq` (0: the first). Answers false when another
   * daemon appended one first (the line of checkpoints stays linear).
   */
  async appendCheckpoint(checkpoint: StreamCheckpoint, expectedSeq: number): Promise<boolean> {
    try {
      await this.js.publish(CHECKPOINT_SUBJECT, JSON.stringify(checkpoint), {
        // By its hash: a retry of this very checkpoint is recorded once, and nobody can take its id ahead.
        msgID: `checkpoint:${checkpoint.hash}`,
        expect: { lastSubjectSequence: expectedSeq },
        timeout: this.options.publishTimeoutMs,
      });
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false;
      throw translate(error, "appending a checkpoint");
    }
  }

  get connection(): NatsConnection {
    return this.nc;
  }

  get jetstream(): JetStreamClient {
    return this.js;
  }

  get manager(): JetStreamManager {
    return this.jsm;
  }
}

/** A message that is not a readable event is not returned as one. */
function tryDecode(data: Uint8Array): EventEnvelope | null {
  try {
    return decodeEnvelope(data);
  } catch {
    return null;
  }
}
