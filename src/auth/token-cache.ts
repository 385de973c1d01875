import type { TokenClaims } from "./tokens.js";

/**
 * Tokens whose signature was already checked, so that a flood of requests with valid tokens costs
 * one signature check per token, not per request. Only tokens with a good signature enter; the
 * oldest entry leaves when the cache is full. Status (revocation, expiry) is checked on every use.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, TokenClaims>();

  constructor(private readonly capacity = 10_000) {}

  get(token: string): TokenClaims | undefined {
    return this.entries.get(token);
  }

  set(token: string, claims: TokenClaims): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(token, claims);
  }
}
