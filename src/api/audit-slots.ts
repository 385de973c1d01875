import { HttpError } from "./errors.js";

/** Audits and exports read the whole stream: a daemon runs this many of them at once and answers 503 to more. */
export const MAX_RUNNING_AUDITS = 2;

/** Seconds a refused audit or export is told to wait. */
const RETRY_AFTER_SECONDS = 10;

/** The daemon's places for whole-stream reads (`/v1/audit/verify`, `/v1/audit/export`), shared by both. */
export class AuditSlots {
  private running = 0;

  constructor(private readonly max = MAX_RUNNING_AUDITS) {}

  /** Takes a place, or throws the contract's 503 with Retry-After when they are all taken. */
  take(): void {
    if (this.running >= this.max)
      throw new HttpError(
        "unavailable",
        "audits or evidence exports are already running on this daemon; try again when they end",
        RETRY_AFTER_SECONDS,
      );
    this.running += 1;
  }

  release(): void {
    this.running = Math.max(0, this.running - 1);
  }
}
