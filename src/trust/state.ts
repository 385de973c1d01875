import type { Actor } from "../domain/index.js";

/** A signing key the ledger enrolled, with the sequences that bound its trust. */
export interface EnrolledKey {
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly role: "anchor" | "signer";
  /** Stream sequence of its `SigningKeyEnrolled` statement. */
  readonly enrolledAtSeq: number;
  /** The key that signed the enrolment (the anchor signs its own genesis). */
  readonly enrolledBy: string;
  /** Who asked for the enrolment. */
  readonly approvedBy: Actor;
  readonly enrolledAt: string;
  /** It counts for what it signed before the genesis too (a signer of a stream older than the trust root). */
  readonly legacyHistory: boolean;
  readonly revokedAtSeq: number | null;
  readonly revokedBy: string | null;
  readonly reason: string | null;
}

/**
 * What the key statements of a ledger establish: the anchor, every enrolled key with the sequence
 * range in which it counts, and where the statements' own chain stands.
 */
export interface TrustState {
  readonly anchor: string | null;
  /** Stream sequence of the genesis (0: none yet). */
  readonly genesisSeq: number;
  readonly keys: ReadonlyMap<string, EnrolledKey>;
  /** Version and hash of the last accepted statement: the next one must follow them. */
  readonly version: number;
  readonly lastHash: string | null;
}

export const EMPTY_TRUST: TrustState = { anchor: null, genesisSeq: 0, keys: new Map(), version: 0, lastHash: null };

/** Why a key does not count at a sequence: not enrolled, not yet enrolled there, or revoked before it. */
export interface UntrustedSigner {
  readonly code: "untrusted_signer";
  readonly kid: string;
  readonly reason: string;
}

export type SignerCheck = { readonly publicKey: Uint8Array } | UntrustedSigner;

/**
 * Whether something at stream sequence `seq` signed by `kid` counts, and against which public key:
 * the anchor counts from the stream's start, any other key after its enrolment (and, for a legacy
 * signer, before the genesis as well); nothing counts after the key's revocation.
 */
export function signerAt(state: TrustState, kid: string, seq: number): SignerCheck {
  const key = state.keys.get(kid);
  // A key id is 16 characters; whatever else a message claims is cut short before it is repeated.
  const shown = kid.length > 32 ? `${kid.slice(0, 32)}…` : kid;
  const untrusted = (why: string): UntrustedSigner => ({
    code: "untrusted_signer",
    kid: shown,
    reason: `signed by key ${shown}, which ${why}`,
  });
  if (key === undefined) return untrusted("the ledger never enrolled");
  if (key.revokedAtSeq !== null && seq > key.revokedAtSeq)
    return untrusted(`was revoked at sequence ${key.revokedAtSeq}, before sequence ${seq}`);
  const counts =
    key.role === "anchor" || seq > key.enrolledAtSeq || (key.legacyHistory && state.genesisSeq > 0 && seq < state.genesisSeq);
  if (!counts) return untrusted(`was enrolled only at sequence ${key.enrolledAtSeq}, after sequence ${seq}`);
  return { publicKey: key.publicKey };
}

/** Whether the key counts for what it signs from now on: enrolled and not revoked. */
export function trustedNow(state: TrustState, kid: string): EnrolledKey | null {
  const key = state.keys.get(kid);
  return key === undefined || key.revokedAtSeq !== null ? null : key;
}

export type KeyStatus = "trusted" | "revoked";

export function statusOf(key: EnrolledKey): KeyStatus {
  return key.revokedAtSeq === null ? "trusted" : "revoked";
}
