import type { BundleSeal } from "../format/index.js";
import type { NdjsonWriter } from "./ndjson-writer.js";

/** Why an export ended: all of it was sent, the client left, the daemon is stopping, or reading failed. */
export type ExportEnd = "complete" | "client_closed" | "shutdown" | "error";

export interface Sent {
  readonly end: ExportEnd;
  /** Lines written (the seal included when it was reached). */
  readonly lines: number;
  /** The seal, when every line was sent. */
  readonly seal: BundleSeal | null;
  readonly failure?: unknown;
}

/**
 * Sends a bundle's lines as they come, until the last (the seal), the client leaves, the daemon
 * stops or the read fails; whichever comes first closes the read (and with it the stream's
 * consumer). An export that cannot finish ends with an `{"error": …}` line instead of its seal.
 */
export async function sendBundle(
  writer: NdjsonWriter,
  lines: AsyncGenerator<string, BundleSeal, undefined>,
  stopping: AbortSignal,
  requestId: string,
): Promise<Sent> {
  let sent = 0;
  let outcome: Sent | null = null;
  try {
    while (outcome === null) {
      const next = await lines.next();
      if (writer.closed) outcome = { end: "client_closed", lines: sent, seal: null };
      else if (stopping.aborted) outcome = { end: "shutdown", lines: sent, seal: null };
      else if (next.done === true) outcome = { end: "complete", lines: sent, seal: next.value };
      else {
        sent += 1;
        await writer.line(next.value);
        // The header goes at once: the client learns the head before the long read.
        if (sent === 1) await writer.flush();
      }
    }
  } catch (failure) {
    outcome = { end: "error", lines: sent, seal: null, failure };
  } finally {
    await lines.return(undefined as never).catch(() => undefined);
  }
  if (outcome.end === "error" || outcome.end === "shutdown") {
    const message =
      outcome.end === "error" ? "the export could not read the whole stream" : "the daemon is shutting down; export again";
    await writer.line(`${JSON.stringify({ error: { code: "unavailable", message, requestId } })}\n`);
  }
  await writer.end();
  return outcome;
}
