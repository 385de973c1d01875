import { keyIdOfPublicKey } from "../signing/index.js";

/** A signing key id: the first 16 base64url characters of SHA-256 of the raw 32-byte public key. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{16}$/;

/**
 * The encodings of the Ed25519 points of small order (and their non-canonical twins), compared
 * without the sign bit, as libsodium does: with such a "public key" one signature verifies for
 * every message, so it can never be a signing key of the ledger.
 */
const SMALL_ORDER = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((hex) => Buffer.from(hex, "hex"));

function smallOrder(key: Uint8Array): boolean {
  return SMALL_ORDER.some((point) => point.subarray(0, 31).equals(key.subarray(0, 31)) && point[31] === (key[31]! & 0x7f));
}

/** The public key behind a base64url text, when it is one (32 bytes, canonical base64url, not of small order). */
export function publicKeyOf(text: string): Uint8Array | null {
  const bytes = Buffer.from(text, "base64url");
  if (bytes.length !== 32 || bytes.toString("base64url") !== text || smallOrder(bytes)) return null;
  return new Uint8Array(bytes);
}

/** Whether `kid` is the fingerprint of `publicKey`: the only id under which a key may ever be named. */
export function isFingerprintOf(kid: string, publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && keyIdOfPublicKey(publicKey) === kid;
}
