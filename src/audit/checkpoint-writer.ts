import type { Logger } from "pino";
import { sealCheckpoint, type DigestPosition, type JetStreamEventStore } from "../events/index.js";
import type { Signer } from "../signing/index.js";

export interface CheckpointWriterOptions {
  /** How often to look whether a new checkpoint is due; 0 turns checkpoints off. */
  readonly intervalMs: number;
}

/**
 * Runs on every daemon: each tick, when events were appended since the last checkpoint, appends a
 * signed checkpoint of the running digest up to what this daemon's read model has applied, chained
 * to the last checkpoint and appended with its expected sequence. With several daemons one of them
 * wins each round, and the others find a checkpoint that already covers as much.
 */
export class CheckpointWriter {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly signer: Signer,
    private readonly position: () => DigestPosition,
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
    const position = this.position();
    if (position.count === 0) return false;
    const last = await this.store.lastCheckpoint();
    if (last !== null && last.checkpoint === null) {
      this.logger.error({ seq: last.seq }, "the last stream checkpoint is unreadable; not chaining to it");
      return false;
    }
    if (last !== null && last.checkpoint!.eventCount >= position.count) return false;
    const checkpoint = sealCheckpoint(position, last?.checkpoint?.hash ?? null, this.clock().toISOString(), this.signer);
    const appended = await this.store.appendCheckpoint(checkpoint, last?.seq ?? 0);
    if (appended) this.logger.debug({ upToSeq: position.seq, eventCount: position.count }, "stream checkpoint appended");
    return appended;
  }
}
