import { hash, timingSafeEqual } from "node:crypto";

/**
 * An API key reads `kl_<26-char key id>_<43-char secret>`: the readable prefix names the product,
 * the key id lets verification find the record without a scan, and the secret is 32 random bytes
 * (256 bits) in base64url. Only `sha256:<hex>` of the whole key string is ever stored.
 */
const KEY_PATTERN = /^kl_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;
export const SECRET_BYTES = 32;

export function formatApiKey(keyId: string, secret: Uint8Array): string {
  if (secret.length !== SECRET_BYTES) throw new Error(`an API key secret has ${SECRET_BYTES} bytes`);
  return `kl_${keyId.slice("key_".length)}_${Buffer.from(secret).toString("base64url")}`;
}

/** The key id embedded in a presented key, or null when the string is not a keyledger key. */
export function keyIdOf(presented: string): string | null {
  const match = KEY_PATTERN.exec(presented);
  return match === null ? null : `key_${match[1]}`;
}

export function hashApiKey(key: string): string {
  return `sha256:${hash("sha256", key, "hex")}`;
}

/** A hint that tells keys apart without revealing them: the prefix and key id, then four secret characters. */
export function hintOf(key: string): string {
  return `${key.slice(0, 3 + 26 + 1 + 4)}…`;
}

/** Hash of a key nobody holds: compared against when there is no record, so that the work is the same. */
export const DUMMY_HASH = hashApiKey("kl_00000000000000000000000000_unused-unused-unused-unused-unused-unu");

/** The length of a `sha256:<hex>` hash, in characters and in UTF-8 bytes. */
const HASH_LENGTH = DUMMY_HASH.length;
/**
 * Where two hashes of that length are written to be compared (every verification compares two pairs):
 * each holds more than a hash, so that a string of that many characters but more UTF-8 bytes shows.
 */
const scratch = { left: Buffer.alloc(2 * HASH_LENGTH), right: Buffer.alloc(2 * HASH_LENGTH) };
const compared = { left: scratch.left.subarray(0, HASH_LENGTH), right: scratch.right.subarray(0, HASH_LENGTH) };

/** Constant-time comparison of two `sha256:<hex>` hashes (of their UTF-8 bytes). */
export function sameHash(a: string, b: string): boolean {
  if (
    a.length === HASH_LENGTH &&
    b.length === HASH_LENGTH &&
    scratch.left.write(a, "utf8") === HASH_LENGTH &&
    scratch.right.write(b, "utf8") === HASH_LENGTH
  )
    return timingSafeEqual(compared.left, compared.right);
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
