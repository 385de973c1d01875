/** Longer than the last line of any NDJSON answer the SDK reads to its end (a seal, a report, an error). */
const MAX_KEPT = 64 * 1024;

/**
 * The last complete line of a byte stream that passes through chunk by chunk, at a cost per chunk
 * rather than per line, keeping only the bytes after the last newline (at most `MAX_KEPT`; a longer
 * line is remembered only as "too long").
 */
export class LastLine {
  private last: Uint8Array | null = null;
  private lastTooLong = false;
  private partial: Uint8Array[] = [];
  private partialBytes = 0;
  private partialTooLong = false;

  push(chunk: Uint8Array): void {
    const end = chunk.lastIndexOf(10);
    if (end === -1) {
      this.keep(chunk);
      return;
    }
    // (A negative fromIndex would count from the end: no search before the first byte.)
    const start = end === 0 ? 0 : chunk.lastIndexOf(10, end - 1) + 1;
    if (start > 0) {
      this.last = chunk.slice(start, end);
      this.lastTooLong = false;
    } else {
      this.keep(chunk.subarray(0, end));
      this.last = this.partialTooLong ? null : concat(this.partial, this.partialBytes);
      this.lastTooLong = this.partialTooLong;
    }
    this.partial = [];
    this.partialBytes = 0;
    this.partialTooLong = false;
    this.keep(chunk.subarray(end + 1));
  }

  /** The last complete line's text (null: none, or longer than is kept). */
  line(): string | null {
    return this.last === null || this.lastTooLong ? null : new TextDecoder().decode(this.last);
  }

  /** Whether bytes came after the last newline: the stream did not end with a whole line. */
  get unfinished(): boolean {
    return this.partialBytes > 0 || this.partialTooLong;
  }

  private keep(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.partialBytes += bytes.length;
    if (this.partialBytes > MAX_KEPT) {
      this.partialTooLong = true;
      this.partial = [];
    } else {
      this.partial.push(bytes.slice());
    }
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
