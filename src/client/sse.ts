import { KeyledgerConnectionError } from "./errors.js";

/** An error that ends a followed stream instead of a reconnection. */
export class Fatal {
  constructor(readonly error: Error) {}
}

/** The longest line of an NDJSON answer, or event of an event stream, that is taken. */
export const MAX_LINE = 8 * 1024 * 1024;

export interface SseMessage {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

/**
 * The event-stream format of the HTML standard: lines end with CRLF, LF or CR; `field: value`; a
 * blank line dispatches the event; lines starting with ":" are comments (heartbeats).
 */
export class SseParser {
  retry: number | undefined;
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private first = true;
  private afterCr = false;

  push(text: string): SseMessage[] {
    let buffer = this.buffer + text;
    // A CR that ended the last chunk ended its line; an LF right after it is the rest of a CRLF.
    if (this.afterCr && buffer.startsWith("\n")) buffer = buffer.slice(1);
    this.afterCr = false;
    if (this.first && buffer.length > 0) {
      this.first = false;
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
    }
    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const char = buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      const line = buffer.slice(start, i);
      if (char === "\r") {
        if (buffer[i + 1] === "\n") i += 1;
        else if (i + 1 === buffer.length) this.afterCr = true;
      }
      start = i + 1;
      this.line(line, messages);
    }
    this.buffer = buffer.slice(start);
    if (this.buffer.length > MAX_LINE) throw new Fatal(new KeyledgerConnectionError("an event of the stream is too long"));
    return messages;
  }

  private line(line: string, messages: SseMessage[]): void {
    if (line === "") {
      if (this.data.length > 0)
        messages.push({ id: this.id, event: this.event === "" ? "message" : this.event, data: this.data.join("\n") });
      this.data = [];
      this.event = "";
      this.id = undefined;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }
}
