import { isUtf8 } from "node:buffer";

/** One line of a bundle file, without its `\n`: its text, or why it has none. */
export type TextLine =
  { readonly number: number; readonly text: string } | { readonly number: number; readonly text: null; readonly reason: string };

/** Longer than any line an export writes (a payload is at most the stream's message size, 1 MiB by default). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The lines of a byte stream, numbered from 1, as they arrive: nothing but the line being read is
 * kept. A line that is not valid UTF-8, or longer than `maxBytes`, comes without text. A last line
 * without its `\n` is still a line (a file cut off in the middle of one).
 */
export async function* textLines(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<TextLine> {
  let number = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  const line = (bytes: Buffer): TextLine => {
    number += 1;
    if (overlong) return { number, text: null, reason: `longer than ${maxBytes} bytes` };
    if (!isUtf8(bytes)) return { number, text: null, reason: "not valid UTF-8" };
    return { number, text: bytes.toString("utf8") };
  };
  for await (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = bytes.indexOf(10, start); end !== -1; end = bytes.indexOf(10, start)) {
      const piece = bytes.subarray(start, end);
      start = end + 1;
      if (pending.length === 0) {
        yield line(piece);
      } else {
        if (!overlong) pending.push(piece);
        yield line(Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
      overlong = false;
    }
    if (start < bytes.length) {
      pendingBytes += bytes.length - start;
      if (pendingBytes > maxBytes) {
        overlong = true;
        pending = [Buffer.alloc(0)];
      } else {
        // A copy: the chunk's memory may be reused by its reader.
        pending.push(Buffer.from(bytes.subarray(start)));
      }
    }
  }
  if (pending.length > 0) yield line(Buffer.concat(pending));
}
