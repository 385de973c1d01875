import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { decodeEnvelope } from "../../format/index.js";

const HEARTBEAT_MS = 15_000;

/** Why a live tail ended: the client left, the daemon is shutting down, or the tail failed. */
export type TailEndReason = "client_closed" | "shutdown" | "error";

export interface TailEnd {
  readonly reason: TailEndReason;
  /** Events written to the client (heartbeats and events left out by the type filter not counted). */
  readonly sent: number;
  readonly durationMs: number;
  /** What failed, when the tail itself did. */
  readonly error?: unknown;
}

/** The stream's messages as the tail reads them (the event store's ordered consumer). */
export interface TailMessages extends AsyncIterable<{ readonly seq: number; readonly data: Uint8Array }> {
  close(): Promise<unknown>;
}

/**
 * One open live tail on a hijacked response: it writes the stream's events as Server-Sent Events
 * frames (and a heartbeat comment) until it ends, and it ends exactly once whichever of its
 * endings comes first; `onEnd` hears of it then, with what it sent.
 */
export class LiveTail {
  private sent = 0;
  private ended = false;
  private readonly openedAt = performance.now();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly response: ServerResponse,
    private readonly messages: TailMessages,
    private readonly type: string | undefined,
    private readonly onEnd: (end: TailEnd) => void,
  ) {}

  /** Writes events until the tail ends; never throws (a failure is an ending like the others). */
  async run(): Promise<void> {
    const response = this.response;
    response.on("close", () => this.end("client_closed"));
    // The client may have left while the tail was being created: its "close" is then past.
    if (response.destroyed) this.end("client_closed");
    if (this.ended) return;
    this.heartbeat = setInterval(() => response.write(": keep-alive\n\n"), HEARTBEAT_MS);
    response.write("retry: 1000\n\n");
    let failure: unknown;
    try {
      for await (const message of this.messages) {
        if (this.ended || response.writableEnded || response.destroyed) break;
        let event;
        try {
          event = decodeEnvelope(message.data);
        } catch {
          continue; // not a readable event: the audit reports it; the tail passes it over
        }
        if (this.type !== undefined && event.type !== this.type) continue;
        const frame = `id: ${message.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ seq: message.seq, ...event })}\n\n`;
        this.sent += 1;
        if (!response.write(frame)) await Promise.race([once(response, "drain"), once(response, "close")]);
      }
    } catch (error) {
      failure = error;
    }
    // A no-op when it ended already (its own close() is what stopped the loop); otherwise the
    // consumer stopped or failed on its own, which no client asked for.
    this.end("error", failure);
  }

  /** Ends the tail (and its response) unless it has ended already: the first ending is the one told. */
  end(reason: TailEndReason, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.messages.close().catch(() => undefined); // stopping is all that is wanted of it
    if (!this.response.writableEnded && !this.response.destroyed) this.response.end();
    const durationMs = Math.round(performance.now() - this.openedAt);
    this.onEnd({ reason, sent: this.sent, durationMs, ...(error === undefined ? {} : { error }) });
  }
}
