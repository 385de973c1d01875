import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { evolve } from "../domain/index.js";
import {
  accountIdOfSubject,
  advancePosition,
  decodeEnvelope,
  eventProblem,
  signedBytes,
  StreamFollower,
  UnknownKeyPatience,
  toDomainEvent,
  type DigestPosition,
  type FollowStep,
  type JetStreamEventStore,
  type PublicKeys,
  type StoredEvent,
} from "../events/index.js";
import { inThreadChecker, SignatureWorkerPool, type SignatureJob } from "../signing/index.js";
import type { ProjectionBatch, ReadModel } from "./read-model.js";

export class ReadModelTimeoutError extends Error {
  constructor(readonly seq: number) {
    super(`the read model did not reach sequence ${seq} in time`);
    this.name = "ReadModelTimeoutError";
  }
}

class KeyNotYetKnown extends Error {
  constructor(keyId: string, seq: number) {
    super(`signing key ${keyId} of event ${seq} is not registered (yet)`);
    this.name = "KeyNotYetKnown";
  }
}

/** At most this many messages are applied in one LevelDB batch. */
const BATCH_MAX = 1000;
/** A batch with this many signatures to check has them checked in worker threads. */
const POOL_FROM = 64;

type SignatureVerdict = "own" | "unknown" | "good" | "bad";

interface PreparedBatch {
  readonly messages: readonly JsMsg[];
  readonly events: ReadonlyArray<StoredEvent | Error>;
  /** The bytes each event's hash and signature cover (null: not a readable event). */
  readonly signed: ReadonlyArray<Uint8Array | null>;
  readonly verdicts: Promise<SignatureVerdict[]>;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * Follows the event stream from the read model's checkpoint and applies each event, with the new
 * checkpoint, in one LevelDB batch. Several daemons each run their own projector on one stream.
 */
export class Projector {
  private applied = 0;
  private digest: DigestPosition = { seq: 0, count: 0, digest: "" };
  private target = 0;
  private readonly follower: StreamFollower;
  private waiters: Waiter[] = [];
  private appliedThisRun = 0;
  /** Messages gathered while more were waiting in the stream, applied together. */
  private inbox: JsMsg[] = [];
  /** The last sequence gathered into the inbox or a prepared batch. */
  private gathered = 0;
  /** A gathered batch whose signatures are being checked, applied when the next one is gathered. */
  private prepared: PreparedBatch | null = null;
  private pool: SignatureWorkerPool | null = null;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly readModel: ReadModel,
    private readonly logger: Logger,
    retryDelayMs = 1000,
    /** The daemons' public keys; without them (tests of projection alone) signatures are not checked. */
    private readonly keys?: PublicKeys,
  ) {
    this.follower = new StreamFollower(
      store,
      {
        resumeAfter: async () => {
          this.inbox = [];
          this.prepared = null;
          this.gathered = this.applied;
          return this.applied;
        },
        onMessage: (message) => this.onMessage(message),
      },
      logger,
      retryDelayMs,
    );
  }

  /** Starts following the stream from the checkpoint; resolves once caught up with the stream as of now. */
  async start(): Promise<void> {
    this.digest = await this.readModel.position();
    this.applied = this.digest.seq;
    this.target = await this.store.lastEventSequence();
    this.logger.info({ checkpoint: this.applied, head: this.target }, "projector resuming from checkpoint");
    this.follower.start();
    await this.waitFor(this.target, Number.POSITIVE_INFINITY);
  }

  async stop(): Promise<void> {
    await this.follower.stop();
    await this.pool?.close();
    this.pool = null;
  }

  /** The last stream sequence applied to this daemon's read model. */
  get position(): number {
    return this.applied;
  }

  /** The running digest of every event message up to `position` (what checkpoints sign). */
  get digestPosition(): DigestPosition {
    return this.digest;
  }

  /** Events applied since this process started (not counting what the checkpoint already held). */
  get appliedSinceStart(): number {
    return this.appliedThisRun;
  }

  get caughtUp(): boolean {
    return this.follower.lastFailure === null && this.follower.started && this.applied >= this.target;
  }

  get lastFailure(): Error | null {
    return this.follower.lastFailure;
  }

  /** Resolves once the event at `seq` (and all before it) is applied to this read model. */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    if (this.applied >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.waiters = this.waiters.filter((waiter) => waiter !== entry);
            reject(new ReadModelTimeoutError(seq));
          }, timeoutMs)
        : undefined;
      const entry: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(entry);
    });
  }

  /**
   * While catching up, gathers messages that are already waiting in the stream and applies them
   * together, in one LevelDB batch. The signatures of a gathered batch are checked
   * (in worker threads when there are many) while the batch before it is applied, so that neither
   * the checks nor the writes wait for the other. A message someone waits for is applied at once.
   */
  private async onMessage(message: JsMsg): Promise<FollowStep> {
    if (message.seq <= this.applied || message.seq <= this.gathered) return "next";
    this.inbox.push(message);
    this.gathered = message.seq;
    // Gathering is for catching up to the head known at start (a start, a rebuild): those messages
    // exist, so they come. Past it, each message is applied at once: a pending count taken while a
    // cluster changes leaders may promise a message that is not delivered, and a gathered message
    // must never wait for one.
    const awaited = this.waiters.some((waiter) => waiter.seq <= message.seq);
    const more = message.info.pending > 0 && message.seq < this.target && !awaited;
    if (more && this.inbox.length < BATCH_MAX) return "next";
    const next = this.prepare(this.inbox);
    this.inbox = [];
    const previous = this.prepared;
    this.prepared = next;
    if (previous !== null) await this.applyAll(previous);
    if (!more) {
      this.prepared = null;
      await this.applyAll(next);
    }
    return "next";
  }

  /** Decodes a batch and starts its signature checks; nothing is awaited here. */
  private prepare(messages: readonly JsMsg[]): PreparedBatch {
    const events = messages.map((message): StoredEvent | Error => {
      try {
        return { ...decodeEnvelope(message.data), seq: message.seq };
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const signed = events.map((event) => (event instanceof Error ? null : signedBytes(event)));
    const verdicts = this.signatureVerdicts(events, signed);
    verdicts.catch(() => undefined); // awaited in applyAll, unless the batch is dropped first
    return { messages, events, signed, verdicts };
  }

  private async applyAll({ messages, events, signed, verdicts }: PreparedBatch): Promise<void> {
    const signatures = await verdicts;
    const batch = this.readModel.batch();
    let position = this.digest;
    let applied = 0;
    for (const [index, message] of messages.entries()) {
      position = advancePosition(position, message.seq, message.data);
      const event = events[index]!;
      if (event instanceof Error) {
        await this.skip(batch, position, message.subject, event);
        continue;
      }
      const before = await batch.aggregate(event.accountId);
      const head = before === null ? null : { lastHash: before.lastHash, version: before.state.version };
      let after;
      try {
        const problem =
          eventProblem(event, message.subject, head, signed[index]!) ?? this.signatureProblem(event, signatures[index]!);
        if (problem !== null) throw new Error(problem);
        after = evolve(before?.state ?? null, toDomainEvent(event));
        if (after === null) throw new Error(`event left account ${event.accountId} without state`);
      } catch (error) {
        if (error instanceof KeyNotYetKnown) throw error;
        await this.skip(batch, position, message.subject, error);
        continue;
      }
      batch.apply(before, after, position, event.hash);
      applied += 1;
    }
    await batch.commit();
    this.appliedThisRun += applied;
    this.advance(position);
  }

  /**
   * A message that is not a readable event (or that the account's state cannot take) would stop
   * every projector for good, since history cannot be deleted: it is recorded, logged and passed.
   */
  private async skip(batch: ProjectionBatch, position: DigestPosition, subject: string, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error({ seq: position.seq, subject, reason }, "skipping a stream message that is not an applicable event");
    await batch.skip(position, reason, accountIdOfSubject(subject));
  }

  private readonly patience = new UnknownKeyPatience();

  /**
   * Each event's signature check, made before the batch is applied: "own" for events this daemon
   * sealed, "unknown" for a key not in the registry, else whether it verifies. A registry that
   * cannot be read throws: the follower tries again.
   */
  private async signatureVerdicts(
    events: ReadonlyArray<StoredEvent | Error>,
    signed: ReadonlyArray<Uint8Array | null>,
  ): Promise<SignatureVerdict[]> {
    const verdicts: SignatureVerdict[] = [];
    const jobs: SignatureJob[] = [];
    const waiting: number[] = [];
    for (const [index, event] of events.entries()) {
      if (this.keys === undefined || event instanceof Error || this.store.sealedHere(event)) {
        verdicts.push("own");
        continue;
      }
      const publicKey = await this.keys.publicKey(event.signingKeyId);
      if (publicKey === null) {
        verdicts.push("unknown");
        continue;
      }
      verdicts.push("bad");
      waiting.push(index);
      jobs.push({ publicKey, message: signed[index]!, signature: Buffer.from(event.signature, "base64url") });
    }
    const results = jobs.length >= POOL_FROM ? await this.signaturePool().checkAcross(jobs) : await inThreadChecker.check(jobs);
    results.forEach((valid, i) => {
      if (valid) verdicts[waiting[i]!] = "good";
    });
    return verdicts;
  }

  /**
   * A key not in the registry may belong to a daemon that just started (a lagging replica): the
   * event is tried again shortly, and skipped only when its key stays unknown.
   */
  private signatureProblem(event: StoredEvent, verdict: SignatureVerdict): string | null {
    if (verdict === "unknown" && this.patience.stillWaiting(event.seq)) throw new KeyNotYetKnown(event.signingKeyId, event.seq);
    if (verdict === "unknown") return `signing key ${event.signingKeyId} is not registered`;
    return verdict === "bad" ? "signature does not verify" : null;
  }

  private signaturePool(): SignatureWorkerPool {
    this.pool ??= new SignatureWorkerPool();
    return this.pool;
  }

  private advance(position: DigestPosition): void {
    const seq = position.seq;
    this.digest = position;
    this.applied = seq;
    const ready = this.waiters.filter((waiter) => waiter.seq <= seq);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((waiter) => waiter.seq > seq);
      for (const waiter of ready) waiter.resolve();
    }
  }
}
