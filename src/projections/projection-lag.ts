import type { Logger } from "pino";
import type { JetStreamEventStore } from "../events/index.js";
import type { Projector } from "./projector.js";

/**
 * How far this daemon's read model is behind the stream: the stream's last event sequence, asked
 * every `intervalMs` (one request at a time, bounded by the store's timeout), minus the projector's
 * position. Readiness uses it; reads and verifications never wait for it.
 */
export class ProjectionLag {
  private head: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private asking = false;

  constructor(
    private readonly store: Pick<JetStreamEventStore, "lastEventSequence">,
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

  /** Stream sequences between the last event the stream holds and the read model; null before the first answer. */
  get lag(): number | null {
    return this.head === null ? null : Math.max(0, this.head - this.projector.position);
  }

  private async ask(): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    try {
      this.head = Math.max(this.head ?? 0, await this.store.lastEventSequence());
    } catch (error) {
      // The connection state tells readiness about an unreachable store; the last head stays.
      this.logger.debug({ err: error }, "could not read the stream head for the projection lag");
    } finally {
      this.asking = false;
    }
  }
}
