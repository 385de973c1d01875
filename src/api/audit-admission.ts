import { AuditPacer } from "./audit-pacer.js";
import { HttpError } from "./errors.js";
import { StreamSlots, type StreamLimits } from "./stream-slots.js";

/** A slot of an audit request frees when the request ends: a second or so, as a rule. */
const RETRY_AFTER_SECONDS = 1;

/**
 * The part of the daemon's time that audit work may take together while other requests come in:
 * the rest is the verifications'. Measured (bench row 12): with four auditors looping on as-of
 * pages and an audit running, the main thread was about 80% busy and verification p99 6–7 times
 * its quiet p99 without a budget; 2.7–4.6 times with 0.5 (the work booked is the audit's own steps,
 * not the NATS parsing and garbage collection it causes), so 0.3.
 */
export const AUDIT_SHARE = 0.3;

export interface AuditAdmission {
  /**
   * Runs one audit request of `principal` (questions about the past, the state, a diff) if neither
   * its own cap nor the daemon's is full: 429 over the principal's cap (that caller is asking too
   * much at once), 503 over the daemon's (everyone together is). Admitted, it starts once the
   * daemon's audit budget allows (AuditPacer): while other requests come in, audits together take at
   * most AUDIT_SHARE of its time.
   */
  run<T>(principal: string, work: () => Promise<T>): Promise<T>;
  /**
   * The same caps for a read of the whole stream (`/v1/audit/verify`), which is paced step by step
   * instead (`pace`): its run is long, and it has places of its own (AuditSlots).
   */
  runWholeStream<T>(principal: string, work: () => Promise<T>): Promise<T>;
  /** For the steps of a whole-stream read: books a step's time against the same budget, waiting while it is overdrawn. */
  pace(workedMs: number): Promise<void>;
  /** A request that is not audit work came in (the budget applies while there are such requests). */
  otherRequest(): void;
  /** The same, for work that ends later than the handler (a streamed answer): the slot is released by `done`. */
  hold(principal: string): { done: () => void };
}

/**
 * Audit work reads much more than a key check does: bounded per principal and per daemon, so that
 * auditors share the daemon with each other and leave it to the verifications (each request's work
 * is made of small steps, so that a verification is never queued behind one of them for long).
 */
export function auditAdmission(limits: StreamLimits, pacer = new AuditPacer(AUDIT_SHARE)): AuditAdmission {
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
  const admitted = async <T>(principal: string, work: () => Promise<T>): Promise<T> => {
    const { done } = hold(principal);
    try {
      return await work();
    } finally {
      done();
    }
  };
  return {
    hold,
    run: (principal, work) => admitted(principal, () => pacer.run(work)),
    runWholeStream: admitted,
    pace: (workedMs) => pacer.pace(workedMs),
    otherRequest: () => pacer.otherRequest(),
  };
}
