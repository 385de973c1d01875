import { DUMMY_HASH, sameHash } from "./api-key-format.js";
import type { KeyState } from "./state.js";

export type VerifyFailureCode = "not_found" | "inactive_key" | "inactive_account" | "expired" | "retention_expired" | "deleted";

export type CredentialKind = "current" | "retained";

export type CredentialCheck =
  { readonly valid: true; readonly credential: CredentialKind } | { readonly valid: false; readonly code: VerifyFailureCode };

/** What verification needs to know of the account that owns a key. */
export interface AccountStatus {
  readonly active: boolean;
  readonly deleted: boolean;
  readonly epoch: number;
}

/**
 * Decides whether a presented secret (by its hash) is accepted at `now`. The hash is always compared
 * twice, against a stand-in when there is no record or no previous secret, so an unknown key id costs
 * the same as a wrong secret. Retention is decided here, at verification time, never by the scheduler.
 */
export function checkCredential(
  presentedHash: string,
  key: KeyState | undefined,
  account: AccountStatus | undefined,
  now: string,
): CredentialCheck {
  const matchesCurrent = sameHash(presentedHash, key?.secretHash ?? DUMMY_HASH);
  const matchesPrevious = sameHash(presentedHash, key?.previous?.secretHash ?? DUMMY_HASH) && key?.previous != null;
  if (key === undefined || account === undefined || (!matchesCurrent && !matchesPrevious)) {
    return { valid: false, code: "not_found" };
  }
  if (key.deleted || account.deleted) return { valid: false, code: "deleted" };
  if (!account.active) return { valid: false, code: "inactive_account" };
  if (!key.active) return { valid: false, code: "inactive_key" };
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.parse(now)) return { valid: false, code: "expired" };
  if (matchesCurrent) return { valid: true, credential: "current" };
  const previous = key.previous;
  if (previous === null || previous.expired || Date.parse(previous.retainedUntil) <= Date.parse(now)) {
    return { valid: false, code: "retention_expired" };
  }
  return { valid: true, credential: "retained" };
}

/**
 * Whether a secret of the given generation is still accepted at `now`: the current one, or the
 * previous one while its retention runs. Access tokens name the generation they were issued from.
 */
export function generationAccepted(key: KeyState, generation: number, now: string): CredentialKind | null {
  if (generation === key.generation) return "current";
  const previous = key.previous;
  if (
    previous !== null &&
    previous.generation === generation &&
    !previous.expired &&
    Date.parse(previous.retainedUntil) > Date.parse(now)
  ) {
    return "retained";
  }
  return null;
}

/**
 * Whether an access token is accepted at `now`: its key and account live, active and unexpired,
 * both still in the epoch the token was issued in (a deactivation, deletion or role removal since
 * moved it on; a reactivation does not move it back), and the secret it was issued from still
 * accepted (a rotation out ends it). Epochs are counted by the read model from the stream, so the
 * answer is the same on every daemon whatever their clocks.
 */
export function tokenAccepted(
  token: { readonly generation: number; readonly keyEpoch: number; readonly accountEpoch: number },
  key: KeyState,
  account: AccountStatus,
  now: string,
): CredentialKind | null {
  if (key.deleted || account.deleted || !key.active || !account.active) return null;
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.parse(now)) return null;
  if (token.keyEpoch !== key.epoch || token.accountEpoch !== account.epoch) return null;
  return generationAccepted(key, token.generation, now);
}
