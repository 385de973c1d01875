import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { evolve } from "../domain/index.js";
import { StreamFollower, type FollowStep, type JetStreamEventStore, WHOLE_STREAM } from "../events/index.js";
import {
  accountIdOfSubject,
  advancePosition,
  chainProblem,
  CHECKPOINT_SUBJECT,
  checkpointProblem,
  decodeCheckpoint,
  eventProblem,
  START_POSITION,
  KEYS_SUBJECT,
  toDomainEvent,
  type DigestPosition,
  type EventEnvelope,
  type StoredEvent,
} from "../format/index.js";
import { inThreadChecker, SignatureWorkerPool, type SignatureJob } from "../signing/index.js";
import { prepareBatch, type PreparedBatch, type ProjectorTrust, type StreamMessage } from "./batch-checks.js";
import { ConfirmedRuns, type VouchingCheckpoint } from "./confirmed-runs.js";
import type { CheckpointHead, KeysHead, SkippedEntry } from "./layout.js";
import type { ProjectionBatch, ReadModel } from "./read-model.js";
import { SequenceWaiters } from "./waiters.js";

export { ReadModelTimeoutError } from "./waiters.js";

/** At most this many messages are applied in one LevelDB batch. */
const BATCH_MAX = 1000;
/** A batch with this many signatures to check has them checked in worker threads. */
const POOL_FROM = 64;

export interface ProjectorOptions {
  readonly retryDelayMs?: number;
  /** The ledger's trust root; without it (tests of projection alone) signatures are not checked. */
  readonly trust?: ProjectorTrust;
  /**
   * Events this daemon itself sealed a moment ago (same hash and signature), whose Ed25519 check
   * the projector may leave out: the reader trusting its own writer's memory, named as such. Their
   * signer's trust at their sequence is still checked.
   */
  readonly sealedHere?: (envelope: EventEnvelope) => boolean;
  /**
   * While catching up at start (a daemon's start, a rebuild), apply the runs of events that signed
   * checkpoints vouch for without an Ed25519 check each, confirming each run by the running digest
   * at its end (see ConfirmedRuns). Needs `trust`.
   */
  readonly confirmWithCheckpoints?: boolean;
}

/** The running digest at the end of a run did not come out as its checkpoint says. */
class RunNotConfirmed extends Error {
  constructor(
    readonly upToSeq: number,
    readonly checkpointSeq: number,
  ) {
    super(`the event messages up to sequence ${upToSeq} do not match the checkpoint at sequence ${checkpointSeq}`);
  }
}

/**
 * Follows the whole stream from the read model's checkpoint, in order: it applies each event, with
 * the new checkpoint, in one LevelDB batch; it feeds the key statements to the ledger's trust root
 * as it passes them, so an event is judged against exactly the keys trusted at its sequence; and it
 * keeps the last authentic stream checkpoint. Several daemons each run their own projector.
 */
export class Projector {
  /** The last stream sequence applied or passed. */
  private applied = 0;
  private digest: DigestPosition = { seq: 0, count: 0, digest: "" };
  /** The running digest after the last batch folded: ahead of `digest` while that batch is written. */
  private folded: DigestPosition = this.digest;
  /**
   * The last batch folded, while LevelDB writes it: the next batch is folded meanwhile (its reads
   * see this one) and written once this one is. Its promise fails if the write did.
   */
  private writing: { batch: ProjectionBatch; done: Promise<void> } | null = null;
  /** The last authentic checkpoint in a batch written. */
  private lastCheckpoint: CheckpointHead | null = null;
  /** An authentic checkpoint folded after it, in a batch not written yet: the next one chains to it. */
  private pendingCheckpoint: CheckpointHead | null = null;
  /** The last key statement that counted, in a batch written, and one folded after it (not written yet). */
  private lastKeysHead: KeysHead | null = null;
  private pendingKeysHead: KeysHead | null = null;
  private target = 0;
  private readonly follower: StreamFollower;
  private readonly waiters = new SequenceWaiters();
  private appliedThisRun = 0;
  private vouchedThisRun = 0;
  private signaturesThisRun = 0;
  private batchesThisRun = 0;
  /** Messages gathered while more were waiting in the stream, applied together. */
  private inbox: StreamMessage[] = [];
  /** The last sequence gathered into the inbox or a prepared batch. */
  private gathered = 0;
  /** A gathered batch whose signatures are being checked, applied when the next one is gathered. */
  private prepared: PreparedBatch | null = null;
  private pool: SignatureWorkerPool | null = null;
  private readonly trust: ProjectorTrust | undefined;
  private readonly sealedHere: (envelope: EventEnvelope) => boolean;
  /** Runs of events signed checkpoints vouch for, ahead of the position (none once live, or after a mismatch). */
  private confirmed = ConfirmedRuns.NONE;
  /** The first of `confirmed.ends` not reached yet. */
  private nextRunEnd = 0;
  private readonly confirmWithCheckpoints: boolean;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly readModel: ReadModel,
    private readonly logger: Logger,
    options: ProjectorOptions = {},
  ) {
    this.trust = options.trust;
    this.sealedHere = options.sealedHere ?? (() => false);
    this.confirmWithCheckpoints = options.confirmWithCheckpoints === true && options.trust !== undefined;
    this.follower = new StreamFollower(
      store,
      {
        resumeAfter: async () => {
          await this.written();
          this.inbox = [];
          this.prepared = null;
          this.pendingCheckpoint = null;
          this.pendingKeysHead = null;
          this.gathered = this.applied;
          this.folded = this.digest;
          return this.applied;
        },
        onMessage: (message, delivered) => this.onMessage(message, delivered),
      },
      logger,
      options.retryDelayMs ?? 1000,
      WHOLE_STREAM,
    );
  }

  /** Starts following the stream from the checkpoint; resolves once caught up with the stream as of now. */
  async start(): Promise<void> {
    this.applied = await this.readModel.checkpoint();
    this.digest = await this.readModel.position();
    this.folded = this.digest;
    this.lastCheckpoint = await this.readModel.streamCheckpoint();
    this.lastKeysHead = await this.readModel.keysHead();
    this.target = await this.store.head();
    if (this.confirmWithCheckpoints) this.confirmed = ConfirmedRuns.from(this.digest.seq, await this.vouchingCheckpoints());
    this.nextRunEnd = 0;
    this.logger.info(
      { checkpoint: this.applied, head: this.target, vouchedUpTo: this.confirmed.end },
      "projector resuming from checkpoint",
    );
    this.follower.start();
    await this.waitFor(this.target, Number.POSITIVE_INFINITY);
  }

  async stop(): Promise<void> {
    await this.follower.stop();
    await this.written();
    await this.pool?.close();
    this.pool = null;
  }

  /** The last stream sequence applied to (or passed by) this daemon's read model. */
  get position(): number {
    return this.applied;
  }

  /** The running digest of every event message up to the last one applied (what checkpoints sign). */
  get digestPosition(): DigestPosition {
    return this.digest;
  }

  /** The last authentic stream checkpoint passed: the next checkpoint chains to it. */
  get streamCheckpoint(): CheckpointHead | null {
    return this.lastCheckpoint;
  }

  /** The last signing key statement that counted, as this read model passed it. */
  get keysHead(): KeysHead | null {
    return this.lastKeysHead;
  }

  /** The event messages this read model passed over after `after` up to `upTo` (null: more than `max`). */
  refusedBetween(after: number, upTo: number, max: number): Promise<number[] | null> {
    return this.readModel.skippedBetween(after, upTo, max);
  }

  /** Events applied since this process started (not counting what the checkpoint already held). */
  get appliedSinceStart(): number {
    return this.appliedThisRun;
  }

  /** Of those, the events applied on a signed checkpoint's word, without an Ed25519 check of their own. */
  get vouchedSinceStart(): number {
    return this.vouchedThisRun;
  }

  /** LevelDB batches written since this process started (events applied ÷ batches: how much group commit gathers). */
  get batchesSinceStart(): number {
    return this.batchesThisRun;
  }

  /** Ed25519 checks of event signatures made since this process started. */
  get signaturesCheckedSinceStart(): number {
    return this.signaturesThisRun;
  }

  get caughtUp(): boolean {
    return this.follower.lastFailure === null && this.follower.started && this.applied >= this.target;
  }

  get lastFailure(): Error | null {
    return this.follower.lastFailure;
  }

  /** Resolves once the message at `seq` (and all before it) is applied to this read model. */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    return this.waiters.waitFor(seq, this.applied, timeoutMs);
  }

  /**
   * Gathers the messages the client already holds, and while catching up those waiting in the
   * stream, and applies them together, in one LevelDB batch. The signatures of a gathered batch
   * are checked (in worker threads when there are many) while the batch before it is applied, so
   * that neither the checks nor the writes wait for the other.
   */
  private async onMessage(received: JsMsg, delivered: number): Promise<FollowStep> {
    if (received.seq <= this.applied || received.seq <= this.gathered)
      return delivered > 0 || this.inbox.length === 0 ? "next" : this.flush(false);
    const message: StreamMessage = {
      seq: received.seq,
      subject: received.subject,
      data: received.data,
      pending: received.info.pending,
      storedAt: received.time.getTime(),
    };
    // Every message before this one has passed here: the trust root knows every statement before it.
    if (message.subject === KEYS_SUBJECT) this.trust?.feed(message.seq, message.data);
    this.trust?.observe(message.seq);
    this.inbox.push(message);
    this.gathered = message.seq;
    // Messages the client already holds are gathered always: under a load of writes, those that
    // arrived while the last batch was written are applied together, in one batch (group commit),
    // and none of them waits for anything but the others' folding. Messages still on the server
    // are waited for only while catching up to the head known at start (a start, a rebuild): those
    // exist, so they come. Past it a pending count taken while a cluster changes leaders may
    // promise a message that is not delivered, and a gathered message must never wait for one.
    const catchingUp = message.pending > 0 && message.seq < this.target && !this.waiters.awaited(message.seq);
    const more = delivered > 0 || catchingUp;
    if (more && this.inbox.length < BATCH_MAX) return "next";
    return this.flush(more);
  }

  /** Prepares the gathered messages and applies the batch before them; and them too unless `more` follow. */
  private async flush(more: boolean): Promise<FollowStep> {
    const next = prepareBatch(this.inbox, {
      trust: this.trust,
      sealedHere: this.sealedHere,
      check: (jobs) => this.check(jobs),
      vouchedFor: (seq) => this.confirmed.vouchesFor(seq),
    });
    this.inbox = [];
    const previous = this.prepared;
    this.prepared = next;
    try {
      if (previous !== null) await this.applyAll(previous);
      if (!more) {
        this.prepared = null;
        await this.applyAll(next);
        await this.writing?.done;
      }
    } catch (error) {
      if (!(error instanceof RunNotConfirmed)) throw error;
      await this.replayInFull(error);
      return "restart";
    }
    return "next";
  }

  /** Waits until the batch being written (if any) is, whether its write succeeded or not. */
  private async written(): Promise<void> {
    await this.writing?.done.catch(() => undefined);
    this.writing = null;
  }

  /**
   * The authentic checkpoints ahead of the read model (up to the head at start) that list what
   * their writers refused: hashed right and signed by a key the ledger trusted at their sequence.
   */
  private async vouchingCheckpoints(): Promise<VouchingCheckpoint[]> {
    const vouching: VouchingCheckpoint[] = [];
    if (this.trust === undefined || this.target <= this.applied) return vouching;
    for await (const message of this.store.messages({
      filter: CHECKPOINT_SUBJECT,
      fromSeq: this.applied + 1,
      toSeq: this.target,
    })) {
      let checkpoint;
      try {
        checkpoint = decodeCheckpoint(message.data);
      } catch {
        continue;
      }
      if (checkpoint.refused === undefined || checkpoint.refused === null || checkpoint.upToSeq >= message.seq) continue;
      if (checkpointProblem(checkpoint, await this.trust.signerAt(checkpoint.signingKeyId, message.seq)) !== null) continue;
      const { upToSeq, eventCount, digest, refused } = checkpoint;
      vouching.push({ seq: message.seq, upToSeq, eventCount, digest, refused });
    }
    return vouching;
  }

  /**
   * A run's digest did not come out as its checkpoint said: the stream no longer holds what the
   * checkpoint's writer read, so nothing taken on a checkpoint's word stands. The read model is
   * emptied and the whole stream projected again with every check.
   */
  private async replayInFull(mismatch: RunNotConfirmed): Promise<void> {
    this.logger.error(
      { upToSeq: mismatch.upToSeq, checkpointSeq: mismatch.checkpointSeq },
      "the stream does not match a signed checkpoint: projecting it again from the start, checking every event",
    );
    this.confirmed = ConfirmedRuns.NONE;
    this.nextRunEnd = 0;
    this.inbox = [];
    this.prepared = null;
    await this.written();
    await this.readModel.clear();
    this.applied = 0;
    this.gathered = 0;
    this.digest = START_POSITION;
    this.folded = START_POSITION;
    this.lastCheckpoint = null;
    this.pendingCheckpoint = null;
    this.lastKeysHead = null;
    this.pendingKeysHead = null;
    this.appliedThisRun = 0;
    this.vouchedThisRun = 0;
  }

  private check(jobs: readonly SignatureJob[]): Promise<boolean[]> {
    this.signaturesThisRun += jobs.length;
    if (jobs.length < POOL_FROM) return inThreadChecker.check(jobs);
    this.pool ??= new SignatureWorkerPool();
    return this.pool.checkAcross(jobs);
  }

  private async applyAll({ messages, events, signed, vouched, verdicts }: PreparedBatch): Promise<void> {
    const signatures = await verdicts;
    const batch = this.readModel.batch(this.writing?.batch ?? null);
    let position = this.folded;
    let applied = 0;
    let appliedOnCheckpoints = 0;
    try {
      for (const [index, message] of messages.entries()) {
        const event = events[index]!;
        if (event === null) {
          this.reachRunEnd(message.seq, null);
          this.pass(batch, message);
          continue;
        }
        position = advancePosition(position, message.seq, message.data);
        this.reachRunEnd(message.seq, position);
        if (event instanceof Error) {
          await this.skip(batch, position, message.subject, { reason: event.message });
          continue;
        }
        const vouchedFor = vouched[index] === true;
        if (await this.applyEvent(batch, position, message, event, signed[index] ?? null, signatures[index]!, vouchedFor)) {
          applied += 1;
          if (vouchedFor) appliedOnCheckpoints += 1;
        }
      }
    } catch (error) {
      await batch.discard();
      throw error;
    }
    // Folded: written once the batch before it is, while the next one is folded.
    this.folded = position;
    try {
      await this.writing?.done;
    } catch (error) {
      await batch.discard();
      throw error;
    }
    const seq = messages.at(-1)!.seq;
    const done = batch.commit().then(() => {
      this.batchesThisRun += 1;
      this.appliedThisRun += applied;
      this.vouchedThisRun += appliedOnCheckpoints;
      this.advance(seq, position, batch);
    });
    // Its failure is met by whoever waits for it next: the next batch, a restart, or stop().
    done.catch(() => undefined);
    this.writing = { batch, done };
  }

  /**
   * Confirms the run that ends at this message, if one does: it must be an event message with the
   * running digest after it as the checkpoint says (`position`: null for a message that is not an
   * event). A message past a run's end that was never reached breaks the run as well.
   */
  private reachRunEnd(seq: number, position: DigestPosition | null): void {
    const end = this.confirmed.ends[this.nextRunEnd];
    if (end === undefined || seq < end.upToSeq) return;
    if (seq > end.upToSeq || position === null || position.digest !== end.digest || position.count !== end.eventCount)
      throw new RunNotConfirmed(end.upToSeq, end.seq);
    this.nextRunEnd += 1;
  }

  private async applyEvent(
    batch: ProjectionBatch,
    position: DigestPosition,
    message: StreamMessage,
    event: StoredEvent,
    signed: Uint8Array | null,
    signature: SkippedEntry | null,
    /** A signed checkpoint vouches for its bytes: its hash is not computed again (its place still is checked). */
    vouched: boolean,
  ): Promise<boolean> {
    const { subject } = message;
    const before = await batch.aggregate(event.accountId);
    const head = before === null ? null : { lastHash: before.lastHash, version: before.state.version };
    // A signer the ledger never trusted is the first thing to say (a legacy signer's later events
    // break their chain only because its first one was passed over).
    const problem =
      signature?.code === "untrusted_signer"
        ? null
        : vouched
          ? accountIdOfSubject(subject) !== event.accountId
            ? `event of ${event.accountId} on subject ${subject}`
            : chainProblem(event, head)
          : eventProblem(event, subject, head, signed ?? undefined);
    if (problem !== null || signature !== null) {
      await this.skip(batch, position, subject, problem === null ? signature! : { reason: problem });
      return false;
    }
    let after;
    try {
      after = evolve(before?.state ?? null, toDomainEvent(event));
      if (after === null) throw new Error(`event left account ${event.accountId} without state`);
    } catch (error) {
      await this.skip(batch, position, subject, { reason: error instanceof Error ? error.message : String(error) });
      return false;
    }
    batch.apply(before, after, position, event.hash, message.storedAt);
    return true;
  }

  /**
   * Messages that are not events move the position on. A stream checkpoint counts as the one the
   * next checkpoint chains to only when it is authentic: hashed right and signed by a key the
   * ledger trusted at its sequence (anyone who can write to NATS can append to its subject).
   */
  private pass(batch: ProjectionBatch, message: StreamMessage): void {
    const statement = message.subject === KEYS_SUBJECT ? this.trust?.statementAt(message.seq) : null;
    if (statement !== null && statement !== undefined) {
      this.pendingKeysHead = { seq: message.seq, ...statement };
      batch.statementSeen(this.pendingKeysHead);
      return;
    }
    if (message.subject !== CHECKPOINT_SUBJECT || this.trust === undefined) {
      batch.pass(message.seq);
      return;
    }
    let problem: string | null;
    let head: CheckpointHead | null = null;
    try {
      const checkpoint = decodeCheckpoint(message.data);
      problem = checkpointProblem(checkpoint, this.trust.signerAtCovered(checkpoint.signingKeyId, message.seq));
      // Only the next link of the line counts (an authentic older checkpoint appended again does not).
      const chainHead = this.pendingCheckpoint ?? this.lastCheckpoint;
      if (problem === null && checkpoint.prevHash !== (chainHead?.hash ?? null))
        problem = "checkpoint does not follow the last authentic checkpoint";
      head = { seq: message.seq, hash: checkpoint.hash, eventCount: checkpoint.eventCount, upToSeq: checkpoint.upToSeq };
    } catch {
      problem = "not a readable checkpoint";
    }
    if (problem === null && head !== null) {
      batch.checkpointSeen(head);
      this.pendingCheckpoint = head;
    } else {
      this.logger.error({ seq: message.seq, problem }, "passing over a stream checkpoint that is not authentic");
      batch.pass(message.seq);
    }
  }

  /**
   * A message that is not a readable event (or that the account's state cannot take, or that no
   * trusted key signed) would stop every projector for good, since history cannot be deleted: it is
   * recorded, logged and passed.
   */
  private async skip(batch: ProjectionBatch, position: DigestPosition, subject: string, entry: SkippedEntry): Promise<void> {
    this.logger.error({ seq: position.seq, subject, ...entry }, "skipping a stream message that is not an applicable event");
    await batch.skip(position, entry, accountIdOfSubject(subject));
  }

  /** A batch ending at `seq` is written: what it passed counts, and those waiting for it go on. */
  private advance(seq: number, position: DigestPosition, batch: ProjectionBatch): void {
    this.digest = position;
    this.applied = seq;
    const checkpoint = batch.checkpointPassed;
    if (checkpoint !== null) {
      this.lastCheckpoint = checkpoint;
      if (this.pendingCheckpoint === checkpoint) this.pendingCheckpoint = null;
    }
    const keysHead = batch.statementPassed;
    if (keysHead !== null) {
      this.lastKeysHead = keysHead;
      if (this.pendingKeysHead === keysHead) this.pendingKeysHead = null;
    }
    this.waiters.reached(seq);
  }
}
