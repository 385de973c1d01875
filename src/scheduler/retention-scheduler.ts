import type { Logger } from "pino";
import { SYSTEM_SCHEDULER } from "../domain/index.js";
import type { ServiceAccounts } from "../application/index.js";
import type { Queries } from "../projections/index.js";

export interface SchedulerOptions {
  readonly intervalMs: number;
  /** How many due retentions one tick closes at most. */
  readonly batchSize: number;
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

  constructor(
    private readonly queries: Queries,
    private readonly accounts: ServiceAccounts,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  start(): void {
    const loop = (): void => {
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

  /** Closes every retention due now; answers how many were looked at. */
  async runOnce(): Promise<number> {
    const due = await this.queries.dueRetentions(this.clock().toISOString(), this.options.batchSize);
    for (const entry of due) {
      await this.accounts.expireRetention(entry.accountId, entry.keyId, entry.generation, {
        actor: SYSTEM_SCHEDULER,
        requestId: null,
      });
      this.logger.info({ accountId: entry.accountId, keyId: entry.keyId, generation: entry.generation }, "retention expired");
    }
    return due.length;
  }
}
