/**
 * The SHA-256 of a presented key, hex: what the verifier's cache is keyed by, so that no plaintext
 * key is kept in memory longer than one request. WebCrypto (`globalThis.crypto.subtle`), which Node
 * 20, Deno, Bun, browsers and workers all have, keeps the SDK free of `node:crypto`.
 */
export async function keyDigest(key: string): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
