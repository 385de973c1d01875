import { createHash } from "node:crypto";
import { verifySignature } from "../signing/index.js";
import type { SignerCheck } from "../trust/index.js";
import { signedBytes, type EventEnvelope, type StoredEvent } from "./envelope.js";
import { accountIdOfSubject } from "./subjects.js";

/** Where an account's chain stands before an event: the last applied event's hash and version. */
export interface ChainHead {
  readonly lastHash: string;
  readonly version: number;
}

/**
 * Whether a signing key counts for something at a stream sequence, and its public key when it does:
 * answered from the ledger's own key statements (the trust root), never from a bucket anyone may
 * write. `signerAt` first makes sure every statement before `seq` is known.
 */
export interface SignerTrust {
  signerAt(kid: string, seq: number): Promise<SignerCheck>;
}

/**
 * Why an event must not be applied, or null when its shape is right: it must sit on its account's
 * subject, hash to its `hash`, and follow the account's chain (`prevHash`, `accountVersion`).
 */
export function eventProblem(
  event: StoredEvent,
  subject: string,
  head: ChainHead | null,
  /** `signedBytes(event)`, when the caller has it already. */
  signed?: Uint8Array,
): string | null {
  if (accountIdOfSubject(subject) !== event.accountId) return `event of ${event.accountId} on subject ${subject}`;
  return hashProblem(event, signed) ?? chainProblem(event, head);
}

/** Why an event does not follow its account's chain (null: it does). */
export function chainProblem(event: EventEnvelope, head: ChainHead | null): string | null {
  if (event.prevHash !== (head?.lastHash ?? null)) return "prevHash does not follow the account's chain";
  if (event.accountVersion !== (head?.version ?? 0) + 1) return "accountVersion does not follow the account's chain";
  return null;
}

/** Why an event's `hash` is not the hash of its content (null: it is). */
export function hashProblem(event: EventEnvelope, signed: Uint8Array = signedBytes(event)): string | null {
  return createHash("sha256").update(signed).digest("hex") === event.hash ? null : "hash does not match the event";
}

/**
 * Why an event's signature does not count (null: a key the ledger trusted at the event's sequence
 * signed it): the key's trust as `signerAt` answered it, then the Ed25519 check.
 */
export function signatureProblem(
  event: EventEnvelope,
  signer: SignerCheck,
  signed: Uint8Array = signedBytes(event),
): string | null {
  if ("code" in signer) return signer.reason;
  return verifySignature(signer.publicKey, signed, Buffer.from(event.signature, "base64url"))
    ? null
    : "signature does not verify";
}
