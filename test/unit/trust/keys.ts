import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** An Ed25519 key made with node:crypto alone, its raw public key and its fingerprint, as the spec defines it. */
export interface TestKey {
  readonly kid: string;
  readonly raw: Uint8Array;
  readonly publicKey: string;
  readonly privateKey: KeyObject;
  sign(bytes: Uint8Array): string;
}

export function testKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(12));
  return {
    kid: createHash("sha256").update(raw).digest("base64url").slice(0, 16),
    raw,
    publicKey: Buffer.from(raw).toString("base64url"),
    privateKey,
    sign: (bytes) => sign(null, bytes, privateKey).toString("base64url"),
  };
}

export { createPrivateKey, createPublicKey };
