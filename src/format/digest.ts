import { createHash } from "node:crypto";

/**
 * The running digest of the event messages of a stream, in stream order. It covers every message
 * on an account subject (`kl.acct.*`), readable or not, so that a checkpoint over it shows whether
 * any message before it was removed, inserted, altered or reordered:
 *
 *   D(0) = 64 zeros
 *   D(n) = SHA-256 hex of ( ASCII bytes of D(n-1) ‖ the raw payload bytes of the n-th event message )
 */
export const EMPTY_DIGEST = "0".repeat(64);

export interface DigestPosition {
  /** Stream sequence of the last event message covered (0: none). */
  readonly seq: number;
  /** Number of event messages covered. */
  readonly count: number;
  readonly digest: string;
}

export const START_POSITION: DigestPosition = { seq: 0, count: 0, digest: EMPTY_DIGEST };

export function nextDigest(previous: string, payload: Uint8Array): string {
  return createHash("sha256").update(previous, "ascii").update(payload).digest("hex");
}

export function advancePosition(position: DigestPosition, seq: number, payload: Uint8Array): DigestPosition {
  return { seq, count: position.count + 1, digest: nextDigest(position.digest, payload) };
}
