import { endsAccount, type Revocation } from "./revocation-contract.js";

/** What a token must hold to be checked against revocations: see `AccessTokenClaims`. */
export interface RevocableToken {
  readonly sub: string;
  readonly key: string;
  readonly gen: number;
  readonly iat_ms: number;
  /** The key's and the account's token epochs when it was issued (tokens of older daemons lack them). */
  readonly kep?: number;
  readonly aep?: number;
}

interface Ended {
  /** Tokens naming an epoch below this one are dead: a deactivation, deletion or role removal since. */
  epoch: number;
  /**
   * Tokens issued before this instant (ms) are dead: a revocation that names no epoch (an event
   * written before epochs existed, or one this SDK cannot read), judged by the clocks as best it can.
   */
  notBeforeMs: number;
  /** Tokens issued from a secret generation up to this one are dead: a rotation out. */
  deadGenerationsUpTo: number;
}

/**
 * The revocations seen on the feed, as they bear on access tokens, by the same rules as the daemon
 * (`tokenAccepted` in `src/domain/credential.ts`): a deactivation or deletion of the key or account,
 * and a role taken away from the account, move its token epoch on, and every token naming an earlier
 * epoch is dead (a reactivation does not revive it; no clock is compared); a rotation out ends the
 * tokens issued from the previous secret. Bounded: past `maxEntries` the least recently revoked id
 * is forgotten, and so as not to forget in a token's favour (a flood of feed messages must not
 * revive a revoked token), every token issued before the forgotten revocation arrived counts as
 * revoked from then on: holders of such tokens mint new ones.
 */
export class TokenRevocations {
  /** `a:<accountId>` or `k:<keyId>`, least recently revoked first, each with when it arrived. */
  private readonly ended = new Map<string, Ended & { arrivedMs: number }>();
  /** Tokens issued before this instant are taken as revoked: something about them was forgotten. */
  private forgottenBeforeMs = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /** `now`: when the revocation arrived, the instant used when the event names neither an epoch nor its own time. */
  record(revocation: Revocation, now: number): void {
    const id = endsAccount(revocation) ? `a:${revocation.accountId}` : `k:${revocation.keyId}`;
    const ended = this.ended.get(id) ?? { epoch: 0, notBeforeMs: 0, deadGenerationsUpTo: -1, arrivedMs: now };
    ended.arrivedMs = now;
    const generation = revocation.generation;
    if (revocation.type === "ApiKeyRotated" && generation !== null) {
      // The previous secret stops at once, or stays until an ApiKeyRetentionExpired says it ended.
      ended.deadGenerationsUpTo = Math.max(ended.deadGenerationsUpTo, generation - (revocation.retained ? 2 : 1));
    } else if (revocation.type === "ApiKeyRetentionExpired" && generation !== null) {
      ended.deadGenerationsUpTo = Math.max(ended.deadGenerationsUpTo, generation);
    } else if (revocation.epoch !== null) {
      ended.epoch = Math.max(ended.epoch, revocation.epoch);
    } else {
      // No epoch to go by: every token issued before it.
      ended.notBeforeMs = Math.max(ended.notBeforeMs, revocation.occurredAtMs ?? now);
    }
    this.ended.delete(id);
    this.ended.set(id, ended);
    for (const [oldest, forgotten] of this.ended) {
      if (this.ended.size <= this.maxEntries) break;
      this.ended.delete(oldest);
      this.forgottenBeforeMs = Math.max(this.forgottenBeforeMs, forgotten.arrivedMs);
    }
  }

  /** Whether a revocation seen on the feed ended this token. */
  revoked(token: RevocableToken): boolean {
    if (token.iat_ms < this.forgottenBeforeMs) return true;
    const account = this.ended.get(`a:${token.sub}`);
    const key = this.ended.get(`k:${token.key}`);
    if (account !== undefined && (before(token.aep, account.epoch) || token.iat_ms < account.notBeforeMs)) return true;
    if (key === undefined) return false;
    return before(token.kep, key.epoch) || token.iat_ms < key.notBeforeMs || token.gen <= key.deadGenerationsUpTo;
  }
}

/** A token's epoch is older than the one a revocation moved to (a token without epochs predates them all). */
function before(tokenEpoch: number | undefined, ended: number): boolean {
  return ended > 0 && (tokenEpoch === undefined || tokenEpoch < ended);
}
