import {
  checkCredential,
  hashApiKey,
  tokenAccepted,
  keyIdOf,
  type CredentialCheck,
  type CredentialKind,
  type Role,
} from "../domain/index.js";
import type { AccountFields, Credential, KeyRecord, Queries } from "../projections/index.js";
import type { VerifiedTokenCache } from "./token-cache.js";
import { looksLikeToken, tokenKeyId, verifyToken } from "./tokens.js";
import type { UsageTracker } from "./usage.js";

/** Who is calling: an account, the key that authenticated it, and how. */
export interface Principal {
  readonly account: AccountFields;
  readonly key: KeyRecord;
  readonly credential: CredentialKind | "token";
}

export type KeyVerification =
  | { readonly valid: true; readonly credential: CredentialKind; readonly account: AccountFields; readonly key: KeyRecord }
  | { readonly valid: false; readonly code: Extract<CredentialCheck, { valid: false }>["code"] };

/** The public keys that sign access tokens: only keys the ledger trusts now (enrolled, not revoked). */
export interface TokenKeys {
  trustedNow(kid: string): { readonly publicKey: Uint8Array } | null;
}

export interface TokenPolicy {
  /** The longest token lifetime accepted, in seconds (the configured TTL). */
  readonly maxLifetimeSeconds: number;
  /** How far in the future a token's issue time may lie, in seconds. */
  readonly clockSkewSeconds: number;
}

/** Verifies API keys and access tokens against this daemon's read model. */
export class Authenticator {
  constructor(
    private readonly queries: Queries,
    private readonly tokenKeys: TokenKeys,
    private readonly tokens: VerifiedTokenCache,
    private readonly usage: UsageTracker,
    private readonly clock: () => Date,
    private readonly policy: TokenPolicy,
  ) {}

  /**
   * Verifies a presented API key: the same work for an unknown key id as for a known one in memory
   * (a filter lookup, a cache lookup, two constant-time comparisons), and for a wrong secret as for
   * a right one. Only a key id the filter cannot rule out and the cache does not hold is read from
   * LevelDB: a key not used lately, or one in a few thousand unknown ids.
   */
  verifyKey(presented: string): KeyVerification | Promise<KeyVerification> {
    const now = this.clock();
    const keyId = keyIdOf(presented);
    const mayExist = this.queries.mayHoldKey(keyId);
    const cached = this.queries.cachedCredential(keyId);
    // A credential in memory (or a key id the filter rules out) is answered at once, without a
    // promise: this is every request's path. Only a read from LevelDB answers later.
    if (cached !== undefined || !mayExist) return this.settle(presented, cached ?? null, now);
    return this.queries.credential(keyId).then((found) => this.settle(presented, found, now));
  }

  private settle(presented: string, found: Credential | null, now: Date): KeyVerification {
    const check = checkCredential(hashApiKey(presented), found?.key, found?.account, this.iso(now));
    if (!check.valid || found === null) return { valid: false, code: check.valid ? "not_found" : check.code };
    this.usage.record(found.key.id, now);
    return { valid: true, credential: check.credential, account: found.account, key: found.key };
  }

  private lastIso = { ms: Number.NaN, text: "" };

  /** `now` in ISO-8601, formatted once per millisecond however many verifications share it. */
  private iso(now: Date): string {
    const ms = now.getTime();
    if (ms !== this.lastIso.ms) this.lastIso = { ms, text: now.toISOString() };
    return this.lastIso.text;
  }

  /**
   * The principal behind an API key answered from memory (null: refused); undefined when answering
   * would take work (an access token, a key not in memory): then only `authenticate` answers, so a
   * caller that tries this first never makes that work twice.
   */
  authenticateAtOnce(credential: string): Principal | null | undefined {
    if (!credential.startsWith("kl_")) return undefined;
    const keyId = keyIdOf(credential);
    const cached = this.queries.cachedCredential(keyId);
    if (cached === undefined && this.queries.mayHoldKey(keyId)) return undefined;
    return principalOf(this.settle(credential, cached ?? null, this.clock()));
  }

  /** The principal behind a bearer credential (API key or access token), or null; at once when it can. */
  authenticate(credential: string): Principal | null | Promise<Principal | null> {
    if (credential.startsWith("kl_")) {
      const result = this.verifyKey(credential);
      return result instanceof Promise ? result.then(principalOf) : principalOf(result);
    }
    if (!looksLikeToken(credential)) return null;
    return this.authenticateToken(credential);
  }

  /**
   * A token counts while the key that signed it is trusted by the ledger (checked on every use: a
   * revocation ends the tokens it signed), its claims pass `verifyToken`, it has not expired, and
   * its key and account are still in the epochs it names.
   */
  private async authenticateToken(token: string): Promise<Principal | null> {
    const kid = tokenKeyId(token);
    const signer = kid === null ? null : this.tokenKeys.trustedNow(kid);
    if (signer === null) return null;
    const now = this.clock();
    let claims = this.tokens.get(token);
    if (claims === undefined) {
      const verified = verifyToken(token, signer.publicKey, {
        nowMs: now.getTime(),
        skewSeconds: this.policy.clockSkewSeconds,
        maxLifetimeSeconds: this.policy.maxLifetimeSeconds,
      });
      if (verified === null) return null;
      this.tokens.set(token, verified);
      claims = verified;
    }
    if (claims.exp * 1000 <= now.getTime()) return null;
    const found = await this.queries.credential(claims.key);
    if (found === null || found.account.id !== claims.sub) return null;
    const { key, account } = found;
    const issued = { generation: claims.gen, keyEpoch: claims.kep, accountEpoch: claims.aep };
    if (tokenAccepted(issued, key, account, now.toISOString()) === null) return null;
    return { account, key, credential: "token" };
  }
}

function principalOf(result: KeyVerification): Principal | null {
  return result.valid ? { account: result.account, key: result.key, credential: result.credential } : null;
}

export function hasRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.account.roles.some((role) => roles.includes(role));
}
