import { endsAccount, type Revocation } from "./revocation-contract.js";

/** What a token must hold to be checked against revocations: see `AccessTokenClaims`. */
export interface RevocableToken {
  readonly sub: string;
  readonly key: string;
  readonly gen: number;
  readonly iat_ms: number;
}

interface Ended {
  /** Tokens issued before this instant (ms) are dead: a deactivation or deletion. */
  notBeforeMs: number;
  /** Tokens issued from a secret generation up to this one are dead: a rotation out. */
  deadGenerationsUpTo: number;
}

/**
 * The revocations seen on the feed, as they bear on access tokens, by the same rules as the daemon
 * (`tokenAccepted` in `src/domain/credential.ts`): a deactivation or deletion of the key or account
 * ends every token issued before it (a reactivation does not revive them), a rotation out ends the
 * tokens issued from the previous secret. Bounded: the least recently revoked ids are forgotten
 * first, which only matters for tokens that outlive `maxEntries` later revocations.
 */
export class TokenRevocations {
  /** `a:<accountId>` or `k:<keyId>`, least recently revoked first. */
  private readonly ended = new Map<string, Ended>();

  constructor(private readonly maxEntries = 10_000) {}

  /** `now`: when the revocation arrived, the instant used when the event's own time cannot be read. */
  record(revocation: Revocation, now: number): void {
    const id = endsAccount(revocation) ? `a:${revocation.accountId}` : `k:${revocation.keyId}`;
    const ended = this.ended.get(id) ?? { notBeforeMs: 0, deadGenerationsUpTo: -1 };
    const generation = revocation.generation;
    if (revocation.type === "ApiKeyRotated" && generation !== null) {
      // The previous secret stops at once, or stays until an ApiKeyRetentionExpired says it ended.
      ended.deadGenerationsUpTo = Math.max(ended.deadGenerationsUpTo, generation - (revocation.retained ? 2 : 1));
    } else if (revocation.type === "ApiKeyRetentionExpired" && generation !== null) {
      ended.deadGenerationsUpTo = Math.max(ended.deadGenerationsUpTo, generation);
    } else {
      // A deactivation or deletion, or a revocation this SDK cannot read: every token issued before it.
      ended.notBeforeMs = Math.max(ended.notBeforeMs, revocation.occurredAtMs ?? now);
    }
    this.ended.delete(id);
    this.ended.set(id, ended);
    for (const oldest of this.ended.keys()) {
      if (this.ended.size <= this.maxEntries) break;
      this.ended.delete(oldest);
    }
  }

  /** Whether a revocation seen on the feed ended this token. */
  revoked(token: RevocableToken): boolean {
    const account = this.ended.get(`a:${token.sub}`);
    const key = this.ended.get(`k:${token.key}`);
    if (account !== undefined && token.iat_ms < account.notBeforeMs) return true;
    if (key === undefined) return false;
    return token.iat_ms < key.notBeforeMs || token.gen <= key.deadGenerationsUpTo;
  }
}
