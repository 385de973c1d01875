import { keyIdOf } from "../domain/index.js";
import { addressBucket } from "./client-address.js";
import { looksLikeToken, unverifiedKeyClaim } from "./tokens.js";

/** Enough for every address and key id of a busy minute; about 3 MB when full (measured). */
export const MAX_BUCKETS = 10_000;

interface Window {
  readonly bucket: string;
  count: number;
  readonly resetAt: number;
}

/**
 * Counts failed authentications in fixed windows, per client address (IPv6 by /64) and per key id
 * the credential names, and says what a failure is answered with: 401 while both buckets are
 * within the limit, 429 with `Retry-After` once either is over it. It is consulted only after a
 * credential failed, never before: a valid credential is served whoever failed from the same
 * address or against the same key id, so failures cannot lock anybody out, and the success path
 * costs nothing here.
 *
 * Address and key id together close both bypasses: many addresses guessing one key id share that
 * key id's bucket, and one address guessing many key ids shares the address's bucket.
 */
export class FailedAuthLimiter {
  private readonly windows = new Map<string, Window>();
  /**
   * Every window in the order it started, oldest from `head` on, so that both sweeping and eviction
   * take from the front in O(1). (Deleting from the front of a Map and then iterating it again
   * walks over the deleted entries: measured, that made each failure cost 5 µs more at the cap.)
   * A window replaced while still queued (only when the clock stepped back) stays queued until it
   * reaches the front; it is counted against the cap, so the cap holds anyway.
   */
  private order: Window[] = [];
  private head = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number = 60_000,
    private readonly maxBuckets: number = MAX_BUCKETS,
  ) {}

  /** How many buckets are tracked: bounded by the cap. */
  get size(): number {
    return this.windows.size;
  }

  /**
   * Counts one failed authentication from `address` with `credential` (null when there was none, or
   * it was too long to read). Returns 0 when the failure is answered 401, else the seconds until
   * the window of the bucket that is over the limit ends (the later one when both are; at least 1).
   */
  recordFailure(address: string, credential: string | null, now: number): number {
    this.sweep(now);
    // Prefixes keep the two kinds apart: a forged claim can never name an address's bucket.
    let resetAt = this.overUntil(this.count(`ip ${addressBucket(address)}`, now));
    const keyId = credential === null ? null : claimedKeyId(credential);
    if (keyId !== null) resetAt = Math.max(resetAt, this.overUntil(this.count(`key ${keyId}`, now)));
    return resetAt === 0 ? 0 : Math.max(1, Math.ceil((resetAt - now) / 1000));
  }

  private overUntil(window: Window): number {
    return window.count > this.limit ? window.resetAt : 0;
  }

  private count(bucket: string, now: number): Window {
    const current = this.windows.get(bucket);
    if (current !== undefined && current.resetAt > now) {
      current.count += 1;
      return current;
    }
    // At the cap, forget the window that started first: it is the one nearest to its end anyway.
    // Refusing to track new buckets instead would let an attacker who filled the table fail without
    // limit from any fresh address; answering every untracked bucket 429 would let a flood of fresh
    // addresses turn everybody's mistakes into 429s. Flushing a bucket early takes `maxBuckets`
    // fresh buckets within one window, each a real failing request.
    while (this.head < this.order.length && this.order.length - this.head >= this.maxBuckets) this.dropOldest();
    const fresh: Window = { bucket, count: 1, resetAt: now + this.windowMs };
    this.windows.set(bucket, fresh);
    this.order.push(fresh);
    return fresh;
  }

  private sweep(now: number): void {
    while (this.head < this.order.length && this.order[this.head]!.resetAt <= now) this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = this.order[this.head]!;
    this.head += 1;
    if (this.windows.get(oldest.bucket) === oldest) this.windows.delete(oldest.bucket);
    // Compact once the dropped half outweighs the rest: amortized O(1) per window.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The key id a credential names, unchecked (it is only a bucket): an API key's embedded id, or an
 * access token's `key` claim. Null for anything else, which then counts per address only.
 */
function claimedKeyId(credential: string): string | null {
  if (credential.startsWith("kl_")) return keyIdOf(credential);
  return looksLikeToken(credential) ? unverifiedKeyClaim(credential) : null;
}
