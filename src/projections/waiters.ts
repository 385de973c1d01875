export class ReadModelTimeoutError extends Error {
  constructor(readonly seq: number) {
    super(`the read model did not reach sequence ${seq} in time`);
    this.name = "ReadModelTimeoutError";
  }
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
}

/** Callers waiting for the read model to reach a stream sequence (read-your-writes). */
export class SequenceWaiters {
  private waiters: Waiter[] = [];

  /** Resolves once `reached(seq)` was called with `seq` or more; `current` is where things stand now. */
  waitFor(seq: number, current: number, timeoutMs: number): Promise<void> {
    if (current >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.waiters = this.waiters.filter((waiter) => waiter !== entry);
            reject(new ReadModelTimeoutError(seq));
          }, timeoutMs)
        : undefined;
      const entry: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(entry);
    });
  }

  /** Whether somebody waits for a sequence up to `seq`: such a message is applied at once, not gathered. */
  awaited(seq: number): boolean {
    return this.waiters.some((waiter) => waiter.seq <= seq);
  }

  reached(seq: number): void {
    const ready = this.waiters.filter((waiter) => waiter.seq <= seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.seq > seq);
    for (const waiter of ready) waiter.resolve();
  }
}
