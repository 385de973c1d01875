import { KEY_ID_PATTERN } from "../domain/index.js";
import { verifySignature, type Signer } from "../signing/index.js";

/** The claims of a keyledger access token (an EdDSA JWT). */
export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  /** The API key the token was issued for. */
  readonly key: string;
  /** The generation of the key's secret that was presented: a rotation out ends the token. */
  readonly gen: number;
  /** The key's epoch when the token was issued: a deactivation or deletion since ends it. */
  readonly kep: number;
  /** The account's epoch when the token was issued: a deactivation, deletion or role removal since ends it. */
  readonly aep: number;
  readonly name: string;
  readonly roles: readonly string[];
  readonly iat: number;
  readonly iat_ms: number;
  readonly exp: number;
  readonly jti: string;
}

export const ISSUER = "keyledger";

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

export function signToken(claims: TokenClaims, signer: Signer): string {
  const head = `${encode({ alg: "EdDSA", typ: "JWT", kid: signer.keyId })}.${encode(claims)}`;
  return `${head}.${Buffer.from(signer.sign(Buffer.from(head, "ascii"))).toString("base64url")}`;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

export function looksLikeToken(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

/**
 * The bytes of a base64url segment, only when it is written the one canonical way (no padding, no
 * stray bits in its last character): otherwise several spellings of one token would verify, and
 * the per-token signature cache would take each for a new token.
 */
function canonicalSegment(segment: string): Buffer | null {
  if (!SEGMENT.test(segment)) return null;
  const bytes = Buffer.from(segment, "base64url");
  return bytes.toString("base64url") === segment ? bytes : null;
}

/** The key id named in a token's header, or null when the header is not one of ours. */
export function tokenKeyId(token: string): string | null {
  const header = canonicalSegment(token.split(".")[0] ?? "");
  if (header === null) return null;
  try {
    const fields = JSON.parse(header.toString("utf8")) as Record<string, unknown>;
    return fields.alg === "EdDSA" && typeof fields.kid === "string" && fields.crit === undefined ? fields.kid : null;
  } catch {
    return null;
  }
}

/**
 * The `key` claim of a token's payload, read WITHOUT checking the signature: anyone can write it, so
 * it may only ever name a bucket to count failures in. Null unless it has the shape of a key id,
 * so that a forged claim cannot be long or pose as something else.
 */
export function unverifiedKeyClaim(token: string): string | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as unknown;
    const key = typeof claims === "object" && claims !== null ? (claims as { key?: unknown }).key : undefined;
    return typeof key === "string" && KEY_ID_PATTERN.test(key) ? key : null;
  } catch {
    return null;
  }
}

export interface TokenLimits {
  /** Now, in milliseconds since the epoch. */
  readonly nowMs: number;
  /** How far in the future `iat` may lie (another daemon's clock running ahead), in seconds. */
  readonly skewSeconds: number;
  /** The longest lifetime (`exp - iat`) this daemon accepts, in seconds: its configured token TTL. */
  readonly maxLifetimeSeconds: number;
}

/**
 * Checks the signature (node:crypto) and the claims of a token: canonical base64url, our issuer,
 * every claim of the right type, issued no later than now plus the skew allowance, and living no
 * longer than the configured maximum. Expiry and revocation are checked by the caller on each use.
 */
export function verifyToken(token: string, publicKey: Uint8Array, limits: TokenLimits): TokenClaims | null {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) return null;
  const payloadBytes = canonicalSegment(payload);
  const signatureBytes = canonicalSegment(signature);
  if (canonicalSegment(header) === null || payloadBytes === null || signatureBytes === null) return null;
  if (!verifySignature(publicKey, Buffer.from(`${header}.${payload}`, "ascii"), signatureBytes)) return null;
  let claims: TokenClaims;
  try {
    claims = JSON.parse(payloadBytes.toString("utf8")) as TokenClaims;
  } catch {
    return null;
  }
  const shaped =
    claims !== null &&
    typeof claims === "object" &&
    claims.iss === ISSUER &&
    typeof claims.sub === "string" &&
    typeof claims.key === "string" &&
    Number.isSafeInteger(claims.gen) &&
    Number.isSafeInteger(claims.kep) &&
    Number.isSafeInteger(claims.aep) &&
    Number.isSafeInteger(claims.iat) &&
    Number.isSafeInteger(claims.iat_ms) &&
    Number.isSafeInteger(claims.exp);
  if (!shaped) return null;
  if (claims.iat_ms > limits.nowMs + limits.skewSeconds * 1000 || claims.iat * 1000 > limits.nowMs + limits.skewSeconds * 1000)
    return null;
  if (claims.exp - claims.iat > limits.maxLifetimeSeconds || Math.floor(claims.iat_ms / 1000) !== claims.iat) return null;
  return claims;
}
