import nacl from "tweetnacl";
import { fromBase64url, jsonFromBase64url } from "./base64url.js";
import { bounded } from "./bounds.js";
import { JwksCache } from "./jwks-cache.js";

/** The issuer keyledger writes into every access token (`ISSUER` in `src/auth/tokens.ts`). */
export const TOKEN_ISSUER = "keyledger";

/** The claims of a keyledger access token, as `POST /v1/auth/token` signs them. */
export interface AccessTokenClaims {
  readonly iss: string;
  /** The service account's id. */
  readonly sub: string;
  /** The API key's id. */
  readonly key: string;
  /** The generation of the key's secret the token was issued from. */
  readonly gen: number;
  /**
   * The key's and the account's token epochs when the token was issued: a deactivation, deletion
   * or role removal since moves them on, and the feed says to which (absent in tokens of older daemons).
   */
  readonly kep?: number;
  readonly aep?: number;
  /** The service account's name and roles when the token was issued. */
  readonly name: string;
  readonly roles: readonly string[];
  readonly iat: number;
  readonly iat_ms: number;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  readonly jti: string;
}

export type TokenInvalidCode =
  | "malformed"
  | "unsupported_algorithm"
  | "unknown_key"
  | "bad_signature"
  | "wrong_issuer"
  | "expired"
  | "not_yet_valid"
  | "revoked";

export type TokenVerifyResult =
  { readonly valid: true; readonly claims: AccessTokenClaims } | { readonly valid: false; readonly code: TokenInvalidCode };

export interface TokenVerifierOptions {
  /** The daemon's base URL; the keys come from `<url>/.well-known/jwks.json`. */
  readonly url: string;
  readonly fetch?: typeof fetch;
  /** Milliseconds since the epoch; `Date.now` by default. */
  readonly clock?: () => number;
  /** Clock skew tolerated on `exp` and `iat`, in seconds: 0 … 300, default 5. */
  readonly leewaySeconds?: number;
  /** How long a fetched JWKS is used: default 300,000 ms (the daemon's max-age). */
  readonly jwksMaxAgeMs?: number;
  /** The least time between two JWKS fetches caused by unknown key ids: default 10,000 ms. */
  readonly jwksMinRefetchIntervalMs?: number;
  readonly timeoutMs?: number;
}

export interface TokenVerifier {
  /**
   * Checks an access token offline: EdDSA signature (tweetnacl) by a key of the JWKS, issuer and
   * expiry. Answers the claims, or why the token is refused; throws `KeyledgerConnectionError` only
   * when no JWKS could ever be read (then nothing can be decided).
   */
  verify(token: string): Promise<TokenVerifyResult>;
}

const MAX_TOKEN_LENGTH = 8192;
const JWT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

/**
 * Offline verification of keyledger access tokens against the JWKS. It sees no change at all after
 * a token was issued — not a deactivation, not a rotation, not a role taken away — until the token
 * expires (tokens are short-lived, 15 minutes by default; `roles` in its claims are the roles it was
 * issued with). A service that must honour such a change at once uses `createVerifier` with the
 * revocation feed (its `verifyAccessToken` refuses a token whose key or account was deactivated,
 * deleted, rotated out, or lost a role after it was issued), or asks the API.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clock = options.clock ?? Date.now;
  const leeway = bounded("leewaySeconds", options.leewaySeconds ?? 5, 0, 300);
  const jwks = new JwksCache({
    url: options.url,
    // Called as a plain function: a browser's fetch refuses any other `this` ("Illegal invocation").
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    clock,
    maxAgeMs: bounded("jwksMaxAgeMs", options.jwksMaxAgeMs ?? 300_000, 0, 86_400_000),
    minRefetchIntervalMs: bounded("jwksMinRefetchIntervalMs", options.jwksMinRefetchIntervalMs ?? 10_000, 0, 3_600_000),
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const refuse = (code: TokenInvalidCode): TokenVerifyResult => ({ valid: false, code });

  return {
    async verify(token) {
      const parts = typeof token === "string" && token.length <= MAX_TOKEN_LENGTH ? JWT.exec(token) : null;
      if (parts === null) return refuse("malformed");
      const [, encodedHeader, encodedPayload, encodedSignature] = parts as unknown as [string, string, string, string];
      const header = jsonFromBase64url(encodedHeader);
      if (header === null) return refuse("malformed");
      // Only EdDSA: `none`, HMAC with the public key as secret, and anything else are refused up front.
      if (header.alg !== "EdDSA") return refuse("unsupported_algorithm");
      if (typeof header.kid !== "string" || header.crit !== undefined) return refuse("malformed");
      const signature = fromBase64url(encodedSignature);
      if (signature?.length !== nacl.sign.signatureLength) return refuse("bad_signature");
      const publicKey = await jwks.key(header.kid);
      if (publicKey === null) return refuse("unknown_key");
      const signed = new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`);
      if (!nacl.sign.detached.verify(signed, signature, publicKey)) return refuse("bad_signature");

      const claims = jsonFromBase64url(encodedPayload);
      if (claims === null || !isClaims(claims)) return refuse("malformed");
      if (claims.iss !== TOKEN_ISSUER) return refuse("wrong_issuer");
      const now = clock() / 1000;
      if (now >= claims.exp + leeway) return refuse("expired");
      if (claims.iat > now + leeway) return refuse("not_yet_valid");
      return { valid: true, claims };
    },
  };
}

function isClaims(claims: Record<string, unknown>): claims is Record<string, unknown> & AccessTokenClaims {
  return (
    typeof claims.iss === "string" &&
    typeof claims.sub === "string" &&
    typeof claims.key === "string" &&
    typeof claims.name === "string" &&
    typeof claims.jti === "string" &&
    Array.isArray(claims.roles) &&
    claims.roles.every((role) => typeof role === "string") &&
    Number.isInteger(claims.gen) &&
    (claims.kep === undefined || Number.isSafeInteger(claims.kep)) &&
    (claims.aep === undefined || Number.isSafeInteger(claims.aep)) &&
    Number.isInteger(claims.iat) &&
    Number.isInteger(claims.iat_ms) &&
    Number.isInteger(claims.exp)
  );
}
