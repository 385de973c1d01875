/** Audit work an idle daemon lets run at once before the share applies (ms). */
const BURST_MS = 100;
/** Other requests received within this long make the daemon contended: the share applies (ms). */
const CONTENDED_FOR_MS = 250;

export interface PacerOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told each wait, in milliseconds (the daemon counts them in a metric). */
  readonly onWait?: (ms: number) => void;
}

/**
 * A daemon-wide budget for audit work (questions about the past, states, diffs, audits of the whole
 * stream): together they take at most `share` of the daemon's time, counted as the wall time each
 * request runs or, for an audit, the time of each of its steps (a token bucket:
 * time refills it at `share`, work empties it, up to a burst of 100 ms). While it is overdrawn, the
 * next request waits before it starts; the verifications that share the event loop get the rest.
 * The share applies only while the daemon has other requests to answer (one received within the
 * last 250 ms): alone, audit work runs at full speed and owes nothing. Nothing is refused here, only
 * started later: an auditor looping on pages sees them come slower while verifications come in; a
 * verification does not wait behind them.
 */
export class AuditPacer {
  /** Milliseconds of audit work the bucket holds (negative: overdrawn). */
  private tokens = BURST_MS;
  private refilledAt: number;
  private otherRequestAt = Number.NEGATIVE_INFINITY;

  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly waited: (ms: number) => void;

  constructor(
    /** The part of the daemon's time audit requests may take together (0 < share ≤ 1). */
    private readonly share: number,
    options: PacerOptions = {},
  ) {
    if (!(share > 0 && share <= 1)) throw new RangeError("the audit share must be in (0, 1]");
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.waited = options.onWait ?? (() => undefined);
    this.refilledAt = this.now();
  }

  /** Waits while the bucket is overdrawn, then runs `work` and takes its time from the bucket. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await this.wait(wait);
    const started = this.now();
    try {
      return await work();
    } finally {
      this.book(this.now() - started);
    }
  }

  /**
   * For long work made of steps (an audit of the whole stream): books a step's time and waits while
   * the bucket is overdrawn; at the least, lets the event loop take a turn.
   */
  async pace(workedMs: number): Promise<void> {
    this.book(workedMs);
    const wait = this.waitMs();
    if (wait > 0) await this.wait(wait);
    else await new Promise((resolve) => setImmediate(resolve));
  }

  /** A request that is not audit work came in: the share applies for a while. */
  otherRequest(): void {
    this.otherRequestAt = this.now();
  }

  private async wait(ms: number): Promise<void> {
    this.waited(ms);
    await this.sleep(ms);
  }

  /** Takes work from the bucket (nothing is owed while nobody else waits). */
  private book(workedMs: number): void {
    this.refill();
    this.tokens -= workedMs;
    this.forgiveWhenAlone();
  }

  /** How long until the bucket is no longer overdrawn. */
  private waitMs(): number {
    this.refill();
    this.forgiveWhenAlone();
    return this.tokens >= 0 ? 0 : -this.tokens / this.share;
  }

  private forgiveWhenAlone(): void {
    if (this.now() - this.otherRequestAt > CONTENDED_FOR_MS) this.tokens = Math.max(this.tokens, 0);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(BURST_MS, this.tokens + (now - this.refilledAt) * this.share);
    this.refilledAt = now;
  }
}
