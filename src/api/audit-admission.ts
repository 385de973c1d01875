import { HttpError } from "./errors.js";
import { StreamSlots, type StreamLimits } from "./stream-slots.js";

/** A slot of an audit request frees when the request ends: a second or so, as a rule. */
const RETRY_AFTER_SECONDS = 1;

export interface AuditAdmission {
  /**
   * Runs one audit request of `principal` (questions about the past, the state, a diff, a verify,
   * an export) if neither its own cap nor the daemon's is full: 429 over the principal's cap (that
   * caller is asking too much at once), 503 over the daemon's (everyone together is).
   */
  run<T>(principal: string, work: () => Promise<T>): Promise<T>;
  /** The same, for work that ends later than the handler (a streamed answer): the slot is released by `done`. */
  hold(principal: string): { done: () => void };
}

/**
 * Audit work reads much more than a key check does: bounded per principal and per daemon, so that
 * auditors share the daemon with each other and leave it to the verifications (each request's work
 * is made of small steps, so that a verification is never queued behind one of them for long).
 */
export function auditAdmission(limits: StreamLimits): AuditAdmission {
  const slots = new StreamSlots(limits);
  const hold = (principal: string): { done: () => void } => {
    const acquired = slots.acquire(principal);
    if (!acquired.ok) {
      if (acquired.cap === "principal")
        throw new HttpError(
          "rate_limited",
          `your service account already has ${acquired.open} audit requests running, its limit ` +
            `(max-audit-requests-per-principal ${acquired.limit}); wait for them to end`,
          RETRY_AFTER_SECONDS,
        );
      throw new HttpError(
        "unavailable",
        `this daemon already runs ${acquired.open} audit requests, its limit for all clients together ` +
          `(max-audit-requests ${acquired.limit}); try again shortly, or another daemon`,
        RETRY_AFTER_SECONDS,
      );
    }
    const { slot } = acquired;
    return { done: () => void slots.release(slot) };
  };
  return {
    hold,
    async run(principal, work) {
      const { done } = hold(principal);
      try {
        return await work();
      } finally {
        done();
      }
    },
  };
}
