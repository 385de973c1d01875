/**
 * Counts failed authentications per client address in fixed windows. Once an address reaches the
 * limit, every authenticated request from it is refused (429) until the window ends, before its
 * credential is even looked at, so a guesser learns nothing more.
 */
export class FailedAuthLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number = 60_000,
  ) {}

  /** Seconds until the address may try again, or 0 when it is not limited. */
  retryAfter(address: string, now: number): number {
    const window = this.windows.get(address);
    if (window === undefined || window.resetAt <= now || window.count < this.limit) return 0;
    return Math.max(1, Math.ceil((window.resetAt - now) / 1000));
  }

  recordFailure(address: string, now: number): void {
    this.sweep(now);
    const window = this.windows.get(address);
    if (window === undefined || window.resetAt <= now) {
      this.windows.set(address, { count: 1, resetAt: now + this.windowMs });
    } else {
      window.count += 1;
    }
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [address, window] of this.windows) if (window.resetAt <= now) this.windows.delete(address);
  }
}
