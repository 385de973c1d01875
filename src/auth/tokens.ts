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
  readonly name: string;
  readonly roles: readonly string[];
  readonly iat: number;
  /** `iat` in milliseconds: a token issued before a deactivation stays dead after a reactivation. */
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

export function looksLikeToken(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

/** The key id named in a token's header, or null when the header is not one of ours. */
export function tokenKeyId(token: string): string | null {
  try {
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8")) as Record<string, unknown>;
    return header.alg === "EdDSA" && typeof header.kid === "string" ? header.kid : null;
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

/** Checks the signature (node:crypto) and shape of a token; expiry is checked by the caller. */
export function verifyToken(token: string, publicKey: Uint8Array): TokenClaims | null {
  const [header, payload, signature] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined) return null;
  const signed = Buffer.from(`${header}.${payload}`, "ascii");
  if (!verifySignature(publicKey, signed, Buffer.from(signature, "base64url"))) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
    const valid =
      claims.iss === ISSUER &&
      typeof claims.sub === "string" &&
      typeof claims.key === "string" &&
      Number.isInteger(claims.gen) &&
      Number.isInteger(claims.iat_ms) &&
      Number.isInteger(claims.exp);
    return valid ? claims : null;
  } catch {
    return null;
  }
}
