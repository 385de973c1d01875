import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { followBucket } from "../nats/index.js";

export const USAGE_BUCKET = "keyledger_usage";

/**
 * `lastUsedAt` telemetry: not an audit event. Each daemon writes a key's last use to a NATS KV
 * bucket at most once per interval, and follows the bucket to know the uses seen by the others.
 */
export class UsageTracker {
  /** Milliseconds since the epoch: formatted only when asked for. */
  private readonly lastUsed = new Map<string, number>();
  private readonly lastWritten = new Map<string, number>();
  private watcher: { stop(): void } | null = null;

  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  static async open(nc: NatsConnection, logger: Logger, replicas: number, intervalMs = 60_000): Promise<UsageTracker> {
    const kv = await new Kvm(nc).create(USAGE_BUCKET, { history: 1, replicas });
    const tracker = new UsageTracker(kv, logger, intervalMs);
    await tracker.follow();
    return tracker;
  }

  private async follow(): Promise<void> {
    this.watcher = await followBucket(this.kv, {
      onPut: (keyId, at) => {
        const ms = Date.parse(at);
        const known = this.lastUsed.get(keyId);
        if (Number.isFinite(ms) && (known === undefined || known < ms)) this.lastUsed.set(keyId, ms);
      },
      onEnd: (error) => this.logger.warn({ err: error }, "usage watch ended"),
    });
  }

  record(keyId: string, at: Date): void {
    const ms = at.getTime();
    this.lastUsed.set(keyId, ms);
    const written = this.lastWritten.get(keyId);
    if (written !== undefined && ms - written < this.intervalMs) return;
    this.lastWritten.set(keyId, ms);
    this.kv
      .put(keyId, at.toISOString())
      .catch((error: unknown) => this.logger.warn({ err: error, keyId }, "could not record key usage"));
  }

  lastUsedAt(keyId: string): string | null {
    const ms = this.lastUsed.get(keyId);
    return ms === undefined ? null : new Date(ms).toISOString();
  }

  stop(): void {
    this.watcher?.stop();
  }
}
