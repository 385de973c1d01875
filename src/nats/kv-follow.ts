import type { KV } from "@nats-io/kv";

export interface BucketHandlers {
  /** Every current value first, then every later one. */
  readonly onPut: (key: string, value: string) => void;
  /** A key deleted or purged: whatever was learnt from it goes. */
  readonly onDelete?: (key: string) => void;
  /** Why the watch ended, when it ends on its own. */
  readonly onEnd?: (error: unknown) => void;
}

/** Follows a KV bucket; answers the watcher, to stop it. */
export async function followBucket(kv: KV, handlers: BucketHandlers): Promise<{ stop(): void }> {
  const entries = await kv.watch();
  void (async () => {
    for await (const entry of entries) {
      if (entry.operation === "PUT") handlers.onPut(entry.key, entry.string());
      else handlers.onDelete?.(entry.key);
    }
  })().catch((error: unknown) => handlers.onEnd?.(error));
  return entries;
}
