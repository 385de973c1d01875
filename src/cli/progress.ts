import type { Io } from "./io.js";

/** A line of progress on stderr, rewritten in place; nothing at all when stderr is not a terminal. */
export interface Progress {
  show(text: string): void;
  /** Removes the line (before other output, and at the end). */
  clear(): void;
}

const ERASE_LINE = "\r\x1b[2K";

export function progressLine(io: Io, everyMs = 100): Progress {
  if (!io.stderrIsTTY) return { show: () => undefined, clear: () => undefined };
  let shown = false;
  let last = 0;
  return {
    show(text) {
      const now = Date.now();
      if (shown && now - last < everyMs) return;
      last = now;
      shown = true;
      io.status(`${ERASE_LINE}${text}`);
    },
    clear() {
      if (shown) io.status(ERASE_LINE);
      shown = false;
    },
  };
}

/** 1234567 → "1,234,567", the same on every machine. */
export function count(value: number): string {
  return value.toLocaleString("en-US");
}
