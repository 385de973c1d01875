import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { followBucket } from "../nats/index.js";
import type { Signer } from "./ed25519.js";

export const SIGNING_KEYS_BUCKET = "keyledger_signing_keys";
const UNKNOWN_TTL_MS = 5000;

export interface PublicKeyEntry {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/**
 * The public keys of every daemon on one stream, in a NATS KV bucket: each daemon registers its own
 * on start, so that any daemon checks the access tokens and event signatures of the others, and the
 * JWKS lists them all. The bucket is followed into memory; a key id not seen yet is looked up once
 * (a daemon that just started), and an unknown one is remembered as unknown for a few seconds, so a
 * flood of made-up key ids does not reach NATS.
 */
export class SigningKeyRegistry {
  private readonly known = new Map<string, Uint8Array>();
  private readonly unknownUntil = new Map<string, number>();
  private watcher: { stop(): void } | null = null;

  private constructor(
    private readonly kv: KV,
    own: Signer,
  ) {
    this.known.set(own.keyId, own.publicKey);
  }

  static async open(nc: NatsConnection, own: Signer, replicas: number): Promise<SigningKeyRegistry> {
    const kv = await new Kvm(nc).create(SIGNING_KEYS_BUCKET, { history: 1, replicas });
    await kv.put(own.keyId, Buffer.from(own.publicKey).toString("base64url"));
    const registry = new SigningKeyRegistry(kv, own);
    await registry.follow();
    return registry;
  }

  private async follow(): Promise<void> {
    this.watcher = await followBucket(this.kv, (keyId, value) => {
      const key = decode(value);
      if (key !== null && isKeyId(keyId)) this.known.set(keyId, key);
    });
  }

  /** The public key behind a key id, or null when no daemon registered it. */
  async publicKey(keyId: string): Promise<Uint8Array | null> {
    const known = this.known.get(keyId);
    if (known !== undefined) return known;
    if (!isKeyId(keyId) || (this.unknownUntil.get(keyId) ?? 0) > Date.now()) return null;
    const entry = await this.kv.get(keyId);
    const key = entry === null || entry.operation !== "PUT" ? null : decode(entry.string());
    if (key === null) {
      if (this.unknownUntil.size > 10_000) this.unknownUntil.clear();
      this.unknownUntil.set(keyId, Date.now() + UNKNOWN_TTL_MS);
      return null;
    }
    this.known.set(keyId, key);
    return key;
  }

  /** Every registered key, from memory. */
  all(): PublicKeyEntry[] {
    return [...this.known].map(([keyId, publicKey]) => ({ keyId, publicKey }));
  }

  stop(): void {
    this.watcher?.stop();
  }
}

function isKeyId(keyId: string): boolean {
  return /^[A-Za-z0-9_-]{16}$/.test(keyId);
}

function decode(text: string): Uint8Array | null {
  const key = Buffer.from(text, "base64url");
  return key.length === 32 ? new Uint8Array(key) : null;
}
