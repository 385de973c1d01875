import { createHash } from "node:crypto";
import { verifySignature } from "../signing/index.js";
import { signedBytes, type StoredEvent } from "./envelope.js";
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
 * Why an event must not be applied, or null when it may: it must sit on its account's subject,
 * hash to its `hash`, follow the account's chain (`prevHash`, `accountVersion`), and carry a
 * signature by a registered daemon key (when `publicKey` is given; null means "not registered").
 */
export function eventProblem(
  event: StoredEvent,
  subject: string,
  head: ChainHead | null,
  publicKey: Uint8Array | null | undefined,
): string | null {
  if (accountIdOfSubject(subject) !== event.accountId) return `event of ${event.accountId} on subject ${subject}`;
  const bytes = signedBytes(event);
  if (createHash("sha256").update(bytes).digest("hex") !== event.hash) return "hash does not match the event";
  if (event.prevHash !== (head?.lastHash ?? null)) return "prevHash does not follow the account's chain";
  if (event.accountVersion !== (head?.version ?? 0) + 1) return "accountVersion does not follow the account's chain";
  if (publicKey === undefined) return null;
  if (publicKey === null) return `signing key ${event.signingKeyId} is not registered`;
  if (!verifySignature(publicKey, bytes, Buffer.from(event.signature, "base64url"))) return "signature does not verify";
  return null;
}
