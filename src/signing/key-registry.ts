import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Signer } from "./ed25519.js";

export const SIGNING_KEYS_BUCKET = "keyledger_signing_keys";

export interface PublicKeyEntry {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/**
 * The public keys of every daemon on one stream, in a NATS KV bucket: each daemon registers its own
 * on start, so that any daemon checks access tokens (and audits event signatures) of the others,
 * and the JWKS lists them all.
 */
export class SigningKeyRegistry {
  private readonly cache = new Map<string, Uint8Array | null>();

  private constructor(
    private readonly kv: KV,
    private readonly own: Signer,
  ) {
    this.cache.set(own.keyId, own.publicKey);
  }

  static async open(nc: NatsConnection, own: Signer, replicas: number): Promise<SigningKeyRegistry> {
    const kv = await new Kvm(nc).create(SIGNING_KEYS_BUCKET, { history: 1, replicas });
    await kv.put(own.keyId, Buffer.from(own.publicKey).toString("base64url"));
    return new SigningKeyRegistry(kv, own);
  }

  /** The public key behind a key id, or null when no daemon registered it. */
  async publicKey(keyId: string): Promise<Uint8Array | null> {
    const cached = this.cache.get(keyId);
    if (cached !== undefined && cached !== null) return cached;
    if (!/^[A-Za-z0-9_-]{16}$/.test(keyId)) return null;
    const entry = await this.kv.get(keyId);
    const key = entry === null || entry.operation !== "PUT" ? null : new Uint8Array(Buffer.from(entry.string(), "base64url"));
    if (key !== null) this.cache.set(keyId, key);
    return key;
  }

  async all(): Promise<PublicKeyEntry[]> {
    const entries: PublicKeyEntry[] = [];
    for await (const keyId of await this.kv.keys()) {
      const publicKey = await this.publicKey(keyId);
      if (publicKey !== null) entries.push({ keyId, publicKey });
    }
    if (!entries.some((entry) => entry.keyId === this.own.keyId)) entries.push({ keyId: this.own.keyId, publicKey: this.own.publicKey });
    return entries;
  }
}
