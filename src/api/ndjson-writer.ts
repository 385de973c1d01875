import type { ServerResponse } from "node:http";

/** How much text is gathered before it goes to the socket: one write per many short lines. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Writes lines to a hijacked response in chunks, waiting while the client reads slower than the
 * lines come (so that nothing piles up in memory), and stops as soon as the client is gone.
 */
export class NdjsonWriter {
  private pending = "";
  private sentBytes = 0;
  private readonly gone: Promise<void>;

  constructor(private readonly response: ServerResponse) {
    // Plain listeners (not events.once, whose promise rejects on an "error" nobody might await).
    this.gone = new Promise((resolve) => (response.destroyed ? resolve() : response.once("close", () => resolve())));
  }

  /** Whether the client went away (then nothing more is written). */
  get closed(): boolean {
    return this.response.destroyed || this.response.writableEnded;
  }

  get bytes(): number {
    return this.sentBytes + Buffer.byteLength(this.pending);
  }

  /** Adds a line (with its `\n`); resolves once the client can take more. */
  async line(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  /** Sends what was gathered; resolves once the client can take more (or is gone). */
  async flush(): Promise<void> {
    if (this.pending === "" || this.closed) return;
    const chunk = this.pending;
    this.pending = "";
    this.sentBytes += Buffer.byteLength(chunk);
    if (!this.response.write(chunk))
      await Promise.race([new Promise((resolve) => this.response.once("drain", resolve)), this.gone]);
  }

  /** Sends the rest and ends the answer. */
  async end(): Promise<void> {
    await this.flush();
    if (!this.closed) this.response.end();
  }
}
