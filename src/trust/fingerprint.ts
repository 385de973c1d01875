import { keyIdOfPublicKey } from "../signing/index.js";

/** A signing key id: the first 16 base64url characters of SHA-256 of the raw 32-byte public key. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{16}$/;

/** The public key behind a base64url text, when it is one (32 bytes, canonical base64url). */
export function publicKeyOf(text: string): Uint8Array | null {
  const bytes = Buffer.from(text, "base64url");
  return bytes.length === 32 && bytes.toString("base64url") === text ? new Uint8Array(bytes) : null;
}

/** Whether `kid` is the fingerprint of `publicKey`: the only id under which a key may ever be named. */
export function isFingerprintOf(kid: string, publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && keyIdOfPublicKey(publicKey) === kid;
}
