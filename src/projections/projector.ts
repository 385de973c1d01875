import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { evolve } from "../domain/index.js";
import {
  accountIdOfSubject,
  advancePosition,
  decodeEnvelope,
  eventProblem,
  signatureProblem,
  StreamFollower,
  UnknownKeyPatience,
  toDomainEvent,
  type DigestPosition,
  type FollowStep,
  type JetStreamEventStore,
  type PublicKeys,
  type StoredEvent,
} from "../events/index.js";
import type { ReadModel } from "./read-model.js";

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
      { resumeAfter: async () => this.applied, onMessage: (message) => this.onMessage(message) },
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

  private async onMessage(message: JsMsg): Promise<FollowStep> {
    if (message.seq <= this.applied) return "next";
    const position = advancePosition(this.digest, message.seq, message.data);
    let event: StoredEvent;
    try {
      event = { ...decodeEnvelope(message.data), seq: message.seq };
    } catch (error) {
      await this.skip(position, message.subject, error);
      return "next";
    }
    await this.apply(event, message.subject, position);
    return "next";
  }

  /**
   * A message that is not a readable event (or that the account's state cannot take) would stop
   * every projector for good, since history cannot be deleted: it is recorded, logged and passed.
   */
  private async skip(position: DigestPosition, subject: string, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error({ seq: position.seq, subject, reason }, "skipping a stream message that is not an applicable event");
    await this.readModel.skip(position, reason, accountIdOfSubject(subject));
    this.advance(position);
  }

  /**
   * Applies an event that verifies: on its account's subject, hashing right, following the chain,
   * signed by a registered daemon. Anything else (a forged or tampered message) is skipped.
   */
  private async apply(event: StoredEvent, subject: string, position: DigestPosition): Promise<void> {
    const before = await this.readModel.aggregate(event.accountId);
    const head = before === null ? null : { lastHash: before.lastHash, version: before.state.version };
    // A registry that cannot be read (or a key not known yet) throws: the follower tries again.
    const problem = eventProblem(event, subject, head) ?? (await this.signatureProblem(event));
    let after;
    try {
      if (problem !== null) throw new Error(problem);
      after = evolve(before?.state ?? null, toDomainEvent(event));
      if (after === null) throw new Error(`event left account ${event.accountId} without state`);
    } catch (error) {
      await this.skip(position, subject, error);
      return;
    }
    await this.readModel.apply(before?.state ?? null, after, position, event.hash);
    this.appliedThisRun += 1;
    this.advance(position);
  }

  private readonly patience = new UnknownKeyPatience();

  /**
   * The signature check. A key not in the registry may belong to a daemon that just started (a
   * lagging replica): the event is tried again shortly, and skipped only when its key stays unknown.
   */
  private async signatureProblem(event: StoredEvent): Promise<string | null> {
    if (this.keys === undefined || this.store.sealedHere(event)) return null;
    const publicKey = await this.keys.publicKey(event.signingKeyId);
    if (publicKey === null && this.patience.stillWaiting(event.seq)) throw new KeyNotYetKnown(event.signingKeyId, event.seq);
    return signatureProblem(event, publicKey);
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
