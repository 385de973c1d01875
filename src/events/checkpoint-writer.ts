import type { Logger } from "pino";
import type { JetStreamEventStore } from "./event-store.js";
import { CHECKPOINT_SUBJECT, MAX_REFUSED, sealCheckpoint, type DigestPosition, type KeysHead } from "../format/index.js";
import type { Signer } from "../signing/index.js";

export interface CheckpointWriterOptions {
  /** How often to look whether a new checkpoint is due; 0 turns checkpoints off. */
  readonly intervalMs: number;
}

/** Where this daemon's read model stands: what a checkpoint may state, and what it chains to. */
export interface CheckpointSource {
  /** The running digest of every event message applied. */
  readonly digestPosition: DigestPosition;
  /** The last stream sequence applied or passed. */
  readonly position: number;
  /** The last authentic checkpoint passed (null: none yet). */
  readonly streamCheckpoint: { readonly hash: string; readonly eventCount: number; readonly upToSeq: number } | null;
  /** The last signing key statement that counted, as passed (null: none yet). */
  readonly keysHead: KeysHead | null;
  /**
   * The event messages after `after` up to `upTo` that the projector passed over, ascending; null
   * when there are more than `max` of them.
   */
  refusedBetween(after: number, upTo: number, max: number): Promise<number[] | null>;
}

/**
 * Runs on every daemon: each tick, when events were appended since the last checkpoint, appends a
 * signed checkpoint of the running digest up to what this daemon's read model has applied, chained
 * to the last *authentic* checkpoint (one a trusted key signed: anyone who can write to NATS can
 * append to the subject, and a forgery must not break the line), and appended with the expected
 * last sequence of the subject. A daemon writes only once its projector has passed the last message
 * on the subject, so it knows what that message was. With several daemons one of them wins each
 * round; a daemon whose key the ledger does not trust writes none. Each checkpoint lists the event
 * messages this daemon's projector passed over since the previous one, so that a replay can take
 * the rest on the checkpoint's word (see `RefusedMessages`).
 */
export class CheckpointWriter {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly signer: Signer,
    private readonly source: CheckpointSource,
    private readonly mayWrite: () => boolean,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    private readonly options: CheckpointWriterOptions,
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0) return;
    const loop = (): void => {
      this.tick = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, "writing a stream checkpoint failed; next tick tries again"))
        .finally(() => {
          if (this.timer !== null) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.tick;
  }

  /** Appends a checkpoint when one is due; answers whether this daemon appended it. */
  async runOnce(): Promise<boolean> {
    const position = this.source.digestPosition;
    if (position.count === 0 || !this.mayWrite()) return false;
    const subjectSeq = await this.store.lastSequence(CHECKPOINT_SUBJECT);
    if (this.source.position < subjectSeq) return false; // the projector has not judged the last one yet
    const last = this.source.streamCheckpoint;
    if (last !== null && last.eventCount >= position.count) return false;
    // Which messages this daemon refused since the last checkpoint: a replay refuses exactly those.
    const after = Math.min(last?.upToSeq ?? 0, position.seq);
    const seqs = await this.source.refusedBetween(after, position.seq, MAX_REFUSED);
    const checkpoint = sealCheckpoint(
      position,
      last?.hash ?? null,
      this.clock().toISOString(),
      this.signer,
      this.source.keysHead,
      seqs === null ? null : { after, seqs },
    );
    const appended = await this.store.appendCheckpoint(checkpoint, subjectSeq);
    if (appended) this.logger.debug({ upToSeq: position.seq, eventCount: position.count }, "stream checkpoint appended");
    return appended;
  }
}
