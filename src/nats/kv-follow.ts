import type { KV } from "@nats-io/kv";

/**
 * Follows a KV bucket: `onPut` gets every current value first, then every later one. Answers the
 * watcher, to stop it; `onEnd` hears why the watch ended, when it ends on its own.
 */
export async function followBucket(
  kv: KV,
  onPut: (key: string, value: string) => void,
  onEnd: (error: unknown) => void = () => undefined,
): Promise<{ stop(): void }> {
  const entries = await kv.watch();
  void (async () => {
    for await (const entry of entries) if (entry.operation === "PUT") onPut(entry.key, entry.string());
  })().catch(onEnd);
  return entries;
}
