import { vi } from "vitest";
import type { JetStreamEventStore } from "../../src/events/index.js";

/** One whole-stream read that was held: how many messages it gave, and whether it was closed. */
export interface HeldRead {
  yielded: number;
  finished: boolean;
}

/**
 * Holds every whole-stream read of a daemon's event store (`messages` without a subject filter: an
 * audit's, an export's) before its first message until released; filtered reads (the key statements)
 * go on. The reads are the real ones: the gate only delays them.
 */
export function holdStreamReads(store: JetStreamEventStore): { release(): void; restore(): void; reads: HeldRead[] } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reads: HeldRead[] = [];
  const original = store.messages.bind(store);
  const spy = vi.spyOn(store, "messages").mockImplementation((options) => {
    if (options.filter !== undefined) return original(options);
    const read: HeldRead = { yielded: 0, finished: false };
    reads.push(read);
    return (async function* () {
      try {
        await gate;
        for await (const message of original(options)) {
          read.yielded += 1;
          yield message;
        }
      } finally {
        read.finished = true;
      }
    })();
  });
  return { release, restore: () => spy.mockRestore(), reads };
}
