import type { Metrics } from "../../metrics/index.js";
import { HttpError } from "../errors.js";
import { StreamSlots, type StreamLimits, type StreamSlot } from "../stream-slots.js";

/**
 * Retry-After of a refused stream. A slot frees only when some stream ends, which nobody can
 * foresee, so the number is a pace rather than a promise: short enough that a client which is only
 * reconnecting (its previous stream's end not yet seen here) or has just closed another stream
 * gets in on its next try, long enough that a client really holding too many costs one credential
 * check every few seconds.
 */
const RETRY_AFTER_SECONDS = 5;

export interface StreamAdmission {
  /** A slot for one more stream of `principal`; throws the contract's 429 when a cap is full. */
  admit(principal: string): StreamSlot;
  /** Gives the slot back (once: a second release of the same slot changes nothing). */
  release(slot: StreamSlot): void;
}

/** The live tail's caps as the HTTP API applies them: 429 when full, the open streams on `/metrics`. */
export function streamAdmission(limits: StreamLimits, metrics: Metrics | undefined): StreamAdmission {
  const slots = new StreamSlots(limits);
  metrics?.eventStreamsOpen.set(0);
  return {
    admit(principal) {
      const acquired = slots.acquire(principal);
      if (!acquired.ok) {
        metrics?.eventStreamsRefused.inc({ reason: acquired.cap });
        const message =
          acquired.cap === "principal"
            ? `your service account already has ${acquired.open} live event streams open, its limit ` +
              `(max-streams-per-principal ${acquired.limit}); close one, or try again later`
            : `this daemon already has ${acquired.open} live event streams open, its limit for all clients ` +
              `together (max-streams ${acquired.limit}); try again later, or another daemon`;
        throw new HttpError("rate_limited", message, RETRY_AFTER_SECONDS);
      }
      metrics?.eventStreamsOpen.set(slots.total);
      return acquired.slot;
    },
    release(slot) {
      if (slots.release(slot)) metrics?.eventStreamsOpen.set(slots.total);
    },
  };
}
