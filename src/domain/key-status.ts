import type { AccountStatus } from "./credential.js";
import type { KeyState } from "./state.js";

/** What a key's current secret is at an instant, as an auditor reads it. */
export type KeyStatus = "active" | "inactive" | "expired" | "deleted";

/** What a key's previous secret (the one before its last rotation) is at an instant. */
export type PreviousSecretStatus = "retained" | "expired";

export function keyStatus(key: KeyState, account: AccountStatus, at: string): KeyStatus {
  if (key.deleted || account.deleted) return "deleted";
  if (!key.active || !account.active) return "inactive";
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.parse(at)) return "expired";
  return "active";
}

/**
 * The previous secret at an instant: retained while its retention runs (whatever the scheduler has
 * appended yet), expired after it, null when the key was never rotated.
 */
export function previousSecretStatus(key: KeyState, at: string): PreviousSecretStatus | null {
  const previous = key.previous;
  if (previous === null) return null;
  return !previous.expired && Date.parse(previous.retainedUntil) > Date.parse(at) ? "retained" : "expired";
}
