/** The text of a body stream, chunk by chunk, telling `onChunk` of each; the connection is closed when the reader stops early. */
export async function* decoded(body: ReadableStream<Uint8Array>, onChunk: () => void): AsyncGenerator<string, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        const rest = decoder.decode();
        if (rest !== "") yield rest;
        return;
      }
      onChunk();
      const text = decoder.decode(value, { stream: true });
      if (text !== "") yield text;
    }
  } finally {
    if (!finished) reader.cancel().catch(() => undefined);
  }
}

export interface Watchdog {
  readonly signal: AbortSignal;
  /** Starts the time again (a chunk arrived). */
  kick(): void;
  timedOut(): boolean;
  /** Stops the timer and closes whatever still uses the signal. */
  dispose(): void;
}

/**
 * An abort signal that fires when `parent` does, or when `ms` pass without a `kick` (a timeout
 * for a plain request, an idle timeout for a stream).
 */
export function watchdog(ms: number, parent?: AbortSignal): Watchdog {
  const controller = new AbortController();
  let expired = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onParent = (): void => controller.abort(parent?.reason);
  if (parent?.aborted === true) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  const kick = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      expired = true;
      controller.abort(new DOMException("no answer in time", "TimeoutError"));
    }, ms);
  };
  kick();
  return {
    signal: controller.signal,
    kick,
    timedOut: () => expired,
    /** Stops the timer and closes whatever still uses the signal. */
    dispose: (): void => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
      if (!controller.signal.aborted) controller.abort(new DOMException("done", "AbortError"));
    },
  };
}

/** Waits `ms`; false when `signal` aborted first. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
