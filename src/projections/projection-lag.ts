import type { Logger } from "pino";
import { StreamMissingError, type JetStreamEventStore } from "../events/index.js";
import type { Projector } from "./projector.js";

/**
 * How far this daemon's read model is behind the stream: the stream's last sequence, asked every
 * `intervalMs` (one request at a time, bounded by the store's timeout), minus the projector's
 * position. Readiness uses it; reads and verifications never wait for it. It also notices a stream
 * that is gone, or that ends before what the read model applied (deleted and made anew, or restored
 * from an older backup): the daemon then does not report ready, and says why.
 */
export class ProjectionLag {
  private head: number | null = null;
  private lost: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private asking = false;

  constructor(
    private readonly store: Pick<JetStreamEventStore, "head" | "options">,
    private readonly projector: Pick<Projector, "position">,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** Asks for the head once, then keeps asking in the background. */
  async start(): Promise<void> {
    await this.ask();
    this.timer = setInterval(() => void this.ask(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stream sequences between the stream's last message and the read model; null before the first answer. */
  get lag(): number | null {
    return this.head === null ? null : Math.max(0, this.head - this.projector.position);
  }

  /** What is wrong with the stream, in a sentence (null: nothing seen). */
  get streamLost(): string | null {
    return this.lost;
  }

  private async ask(): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    const stream = this.store.options.stream;
    try {
      // Where the read model stood before the question: the head answered after it is at least there.
      const applied = this.projector.position;
      const head = await this.store.head();
      this.judge(
        head < applied
          ? `the stream ${stream} ends at sequence ${head}, behind this daemon's read model (sequence ${applied}): it was deleted, replaced or restored from an older backup. Restore it, or run \`keyledger projections rebuild\` on purpose`
          : null,
      );
      this.head = head;
    } catch (error) {
      if (error instanceof StreamMissingError)
        this.judge(`the stream ${stream} is gone from NATS: restore it from a backup; nothing is written meanwhile`);
      // Otherwise the connection state tells readiness about an unreachable store; the last head stays.
      else this.logger.debug({ err: error }, "could not read the stream head for the projection lag");
    } finally {
      this.asking = false;
    }
  }

  private judge(problem: string | null): void {
    if (problem !== null && this.lost === null) this.logger.error({ problem }, "the event stream was lost");
    if (problem === null && this.lost !== null) this.logger.info("the event stream is back");
    this.lost = problem;
  }
}
