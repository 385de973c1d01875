import type { Signer } from "../signing/index.js";
import type { Principal } from "./authenticator.js";
import { ISSUER, signToken } from "./tokens.js";

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly expiresAt: string;
}

/** Issues short-lived access tokens for a principal authenticated by an API key. */
export function issueToken(principal: Principal, signer: Signer, ttlSeconds: number, now: Date, jti: string): IssuedToken {
  const iat = Math.floor(now.getTime() / 1000);
  const seconds = (instant: string | null | undefined): number =>
    instant === null || instant === undefined ? Number.POSITIVE_INFINITY : Math.floor(Date.parse(instant) / 1000);
  const retained = principal.credential === "retained";
  // A token lives no longer than its key, nor than the retained secret it was issued from.
  const exp = Math.min(
    iat + ttlSeconds,
    seconds(principal.key.expiresAt),
    retained ? seconds(principal.key.previous?.retainedUntil) : Number.POSITIVE_INFINITY,
  );
  const generation = retained ? principal.key.previous!.generation : principal.key.generation;
  const accessToken = signToken(
    {
      iss: ISSUER,
      sub: principal.account.id,
      key: principal.key.id,
      gen: generation,
      kep: principal.key.epoch,
      aep: principal.account.epoch,
      name: principal.account.name,
      roles: principal.account.roles,
      iat,
      iat_ms: now.getTime(),
      exp,
      jti,
    },
    signer,
  );
  return { accessToken, tokenType: "Bearer", expiresIn: exp - iat, expiresAt: new Date(exp * 1000).toISOString() };
}
