import type { Logger } from "pino";
import { SYSTEM_SCHEDULER } from "../domain/index.js";
import type { ServiceAccounts } from "../application/index.js";
import type { Queries } from "../projections/index.js";

export interface SchedulerOptions {
  readonly intervalMs: number;
  /** How many due retentions one tick closes at most. */
  readonly batchSize: number;
  /** Whether this daemon may append now (its signing key trusted by the ledger); default: always. */
  readonly enabled?: () => boolean;
}

/**
 * Runs on every daemon: each tick appends `ApiKeyRetentionExpired` for every retained secret whose
 * deadline has passed. Two daemons (or a tick after downtime) may see the same retention due: the
 * event's message id is derived from the rotation, and the decider appends nothing for a retention
 * already closed, so each rotation's expiry is recorded exactly once. Verification never waits for
 * this: it compares `retainedUntil` with the clock itself.
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;
  private ticks = 0;
  private closedCount = 0;

  /** Ticks run since start. */
  get runs(): number {
    return this.ticks;
  }

  /** Retentions this scheduler closed since start. */
  get expiries(): number {
    return this.closedCount;
  }

  constructor(
    private readonly queries: Queries,
    private readonly accounts: ServiceAccounts,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  start(): void {
    const loop = (): void => {
      this.ticks += 1;
      this.tick = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, "retention scheduler tick failed"))
        .finally(() => {
          if (this.timer !== null) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.tick;
  }

  /**
   * Closes every retention due now, batch after batch; answers how many were closed. One that
   * fails is logged and left for the next tick, and does not hold up the others.
   */
  async runOnce(): Promise<number> {
    if (this.options.enabled?.() === false) return 0;
    let closed = 0;
    const failed = new Set<string>();
    for (;;) {
      const due = (await this.queries.dueRetentions(this.clock().toISOString(), this.options.batchSize + failed.size)).filter(
        (entry) => !failed.has(entry.keyId),
      );
      if (due.length === 0) return closed;
      const before = closed;
      for (const entry of due) {
        try {
          await this.accounts.expireRetention(entry.accountId, entry.keyId, entry.generation, {
            actor: SYSTEM_SCHEDULER,
            requestId: null,
          });
          closed += 1;
          this.closedCount += 1;
        } catch (error) {
          failed.add(entry.keyId);
          this.logger.warn(
            { err: error, accountId: entry.accountId, keyId: entry.keyId },
            "could not close a retention; next tick tries again",
          );
        }
      }
      // Go on while batches close something, unless the scheduler is being stopped.
      if (closed === before || this.timer === null) return closed;
    }
  }
}
