import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { followBucket } from "../nats/index.js";
import type { Signer } from "../signing/index.js";
import { isFingerprintOf, KID_PATTERN, publicKeyOf } from "../trust/index.js";
import { translate } from "./nats-errors.js";

export const SIGNING_KEYS_BUCKET = "keyledger_signing_keys";

/** A daemon's key, as it announced itself: a request to be approved, never a reason to trust it. */
export interface Announcement {
  readonly kid: string;
  readonly publicKey: Uint8Array;
}

/**
 * The KV bucket `keyledger_signing_keys`, where each daemon announces its public key under its key
 * id, so that an admin can approve a new daemon (`SigningKeyEnrolled`) without copying keys by
 * hand. Anyone who can write to NATS can write here too, so nothing read here is trusted: an entry
 * counts as an announcement only when its id is the fingerprint of the key it holds (any other is
 * ignored and logged), and a deleted entry is forgotten at once.
 */
export class KeyAnnouncements {
  private readonly announced = new Map<string, Announcement>();
  private watcher: { stop(): void } | null = null;

  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(nc: NatsConnection, replicas: number, logger: Logger): Promise<KeyAnnouncements> {
    try {
      const kv = await new Kvm(nc).create(SIGNING_KEYS_BUCKET, { history: 1, replicas });
      const announcements = new KeyAnnouncements(kv, logger);
      announcements.watcher = await followBucket(kv, {
        onPut: (kid, value) => announcements.learn(kid, value),
        onDelete: (kid) => announcements.announced.delete(kid),
        onEnd: (error) => logger.warn({ err: error }, "the signing key announcements watch ended"),
      });
      return announcements;
    } catch (error) {
      throw translate(error, "opening the signing key announcements");
    }
  }

  private learn(kid: string, value: string): void {
    const publicKey = publicKeyOf(value);
    if (!KID_PATTERN.test(kid) || publicKey === null || !isFingerprintOf(kid, publicKey)) {
      this.announced.delete(kid);
      this.logger.warn(
        { kid: kid.slice(0, 64) },
        "ignoring a signing key announcement whose id is not the fingerprint of its key",
      );
      return;
    }
    this.announced.set(kid, { kid, publicKey });
  }

  /** Announces this daemon's key (its id is its fingerprint). */
  async announce(signer: Signer): Promise<void> {
    try {
      await this.kv.put(signer.keyId, Buffer.from(signer.publicKey).toString("base64url"));
    } catch (error) {
      throw translate(error, "announcing the signing key");
    }
  }

  get(kid: string): Announcement | null {
    return this.announced.get(kid) ?? null;
  }

  all(): Announcement[] {
    return [...this.announced.values()];
  }

  stop(): void {
    this.watcher?.stop();
  }
}
