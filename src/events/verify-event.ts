import { createHash } from "node:crypto";
import { verifySignature } from "../signing/index.js";
import { signedBytes, type EventEnvelope, type StoredEvent } from "./envelope.js";
import { accountIdOfSubject } from "./subjects.js";

/** Where an account's chain stands before an event: the last applied event's hash and version. */
export interface ChainHead {
  readonly lastHash: string;
  readonly version: number;
}

/** Looks up the public key behind a signing key id. */
export interface PublicKeys {
  publicKey(keyId: string): Promise<Uint8Array | null>;
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
  const hash = hashProblem(event, signed);
  if (hash !== null) return hash;
  if (event.prevHash !== (head?.lastHash ?? null)) return "prevHash does not follow the account's chain";
  if (event.accountVersion !== (head?.version ?? 0) + 1) return "accountVersion does not follow the account's chain";
  return null;
}

/** Why an event's `hash` is not the hash of its content (null: it is). */
export function hashProblem(event: EventEnvelope, signed: Uint8Array = signedBytes(event)): string | null {
  return createHash("sha256").update(signed).digest("hex") === event.hash ? null : "hash does not match the event";
}

/**
 * Patience with a signing key not in the registry yet: a daemon that just started may not be
 * visible there at once (a lagging replica). The same message is retried until the patience runs
 * out; only then does it count as signed by nobody.
 */
export class UnknownKeyPatience {
  private since: { seq: number; at: number } | null = null;

  constructor(private readonly patienceMs = 15_000) {}

  /** True while the message at `seq` should be tried again later. */
  stillWaiting(seq: number, now = Date.now()): boolean {
    if (this.since?.seq !== seq) this.since = { seq, at: now };
    return now - this.since.at < this.patienceMs;
  }
}

/** Why an event's signature is not good (null: a registered daemon key signed it). */
export function signatureProblem(event: EventEnvelope, publicKey: Uint8Array | null): string | null {
  if (publicKey === null) return `signing key ${event.signingKeyId} is not registered`;
  const signature = Buffer.from(event.signature, "base64url");
  return verifySignature(publicKey, signedBytes(event), signature) ? null : "signature does not verify";
}
