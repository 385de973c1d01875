import type { VerifyResult } from "./types.js";

export type PositiveAnswer = Extract<VerifyResult, { valid: true }>;

interface Entry {
  readonly answer: PositiveAnswer;
  readonly expiresAt: number;
  /** When it was stored or last moved to the young end. */
  stamp: number;
}

/**
 * Positive verification answers, bounded in time (each entry lives `ttlMs`, and never past the key's
 * `expiresAt`) and in number (the
 * least recently used entry goes first), keyed by the digest of the presented key (never the key
 * itself), and indexed by account and key id so that a revocation drops every entry it concerns.
 */
export class VerifyCache {
  /** Insertion order is (nearly) recency order: a hit on an aged entry moves it to the end. */
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  private readonly byAccount = new Map<string, Set<string>>();
  private readonly byKey = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(digest: string, now: number): PositiveAnswer | null {
    const entry = this.entries.get(digest);
    if (entry === undefined) return null;
    if (entry.expiresAt <= now) {
      this.delete(digest);
      return null;
    }
    // Used again: moved to the young end, but only once it has aged by half the capacity (taking
    // a key out of a large Map and in again costs time that grows with the map).
    if (this.clock - entry.stamp >= this.maxEntries / 2) {
      this.entries.delete(digest);
      entry.stamp = ++this.clock;
      this.entries.set(digest, entry);
    }
    return entry.answer;
  }

  set(digest: string, answer: PositiveAnswer, now: number): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    this.delete(digest);
    // An entry never outlives the key's own expiry, which is no event on the feed.
    const keyExpiry = answer.apiKey.expiresAt == null ? Number.POSITIVE_INFINITY : Date.parse(answer.apiKey.expiresAt);
    if (keyExpiry <= now) return;
    this.entries.set(digest, { answer, expiresAt: Math.min(now + this.ttlMs, keyExpiry), stamp: ++this.clock });
    index(this.byAccount, answer.serviceAccount.id, digest);
    index(this.byKey, answer.apiKey.id, digest);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.delete(oldest);
    }
  }

  delete(digest: string): void {
    const entry = this.entries.get(digest);
    if (entry === undefined) return;
    this.entries.delete(digest);
    this.unindex(digest, entry.answer);
  }

  /** Drops every entry of an account; answers how many. */
  dropAccount(accountId: string): number {
    return this.dropAll(this.byAccount.get(accountId));
  }

  /** Drops every entry of an API key (its current and any retained secret); answers how many. */
  dropKey(keyId: string): number {
    return this.dropAll(this.byKey.get(keyId));
  }

  clear(): void {
    this.entries.clear();
    this.byAccount.clear();
    this.byKey.clear();
  }

  private dropAll(digests: Set<string> | undefined): number {
    if (digests === undefined) return 0;
    const count = digests.size;
    for (const digest of [...digests]) this.delete(digest);
    return count;
  }

  private unindex(digest: string, answer: PositiveAnswer): void {
    unindex(this.byAccount, answer.serviceAccount.id, digest);
    unindex(this.byKey, answer.apiKey.id, digest);
  }
}

function index(map: Map<string, Set<string>>, id: string, digest: string): void {
  const digests = map.get(id);
  if (digests === undefined) map.set(id, new Set([digest]));
  else digests.add(digest);
}

function unindex(map: Map<string, Set<string>>, id: string, digest: string): void {
  const digests = map.get(id);
  digests?.delete(digest);
  if (digests?.size === 0) map.delete(id);
}
