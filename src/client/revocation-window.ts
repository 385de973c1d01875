/**
 * Recent revocations, to decide whether a positive answer of the API may go into the cache. It may
 * not when a revocation of its account or key
 *
 * - arrived while the request was in flight (the answer may have been obtained before it, and would
 *   outlive the drop that the revocation just did), or
 * - arrived less than `settleMs` before the answer: the revocation may have been recorded through
 *   another daemon, and the daemon that answered may not have applied it yet.
 *
 * A request remembers the `epoch` (the count of revocations seen) when it starts. The memory is
 * bounded; whatever it forgets raises `forgottenEpoch`, and an answer older than something forgotten
 * is not cached (it cannot be told apart from one that a revocation overtook).
 */
export class RevocationWindow {
  private seen = 0;
  private forgottenEpoch = 0;
  /** `a:<accountId>` or `k:<keyId>` → the epoch and time of its last revocation, oldest first. */
  private readonly recent = new Map<string, { readonly epoch: number; readonly at: number }>();

  constructor(
    private readonly settleMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get epoch(): number {
    return this.seen;
  }

  record(target: { accountId: string } | { keyId: string }, now: number): void {
    this.seen += 1;
    const id = "accountId" in target ? `a:${target.accountId}` : `k:${target.keyId}`;
    this.recent.delete(id);
    this.recent.set(id, { epoch: this.seen, at: now });
    this.prune(now);
  }

  /** Everything seen so far counts as forgotten: after a gap in the feed, nothing in flight may be cached. */
  forgetAll(): void {
    this.seen += 1;
    this.forgottenEpoch = this.seen;
    this.recent.clear();
  }

  /** Whether an answer about this account and key, asked for at `since`, may be cached at `now`. */
  mayCache(since: number, accountId: string, keyId: string, now: number): boolean {
    this.prune(now);
    if (this.forgottenEpoch > since) return false;
    for (const id of [`a:${accountId}`, `k:${keyId}`]) {
      const last = this.recent.get(id);
      if (last !== undefined && (last.epoch > since || now - last.at < this.settleMs)) return false;
    }
    return true;
  }

  private prune(now: number): void {
    for (const [id, last] of this.recent) {
      if (this.recent.size <= this.maxEntries && now - last.at < this.settleMs) break;
      this.recent.delete(id);
      this.forgottenEpoch = Math.max(this.forgottenEpoch, last.epoch);
    }
  }
}
