/**
 * The revocation feed as a subscriber sees it: the public contract of `events.md` and the README
 * ("Events and subjects"), written out here rather than imported, so that the SDK ships without
 * server code. `test/unit/client/revocation-contract.test.ts` holds these equal to the daemon's own
 * constants in `src/events` and `src/domain`.
 */
export const REVOCATION_SUBJECT_PREFIX = "kl.revoked";
export const REVOCATION_FILTER = `${REVOCATION_SUBJECT_PREFIX}.>`;
export const DEFAULT_STREAM = "KEYLEDGER";

/**
 * Events after which some credential that worked before no longer works, or may do less:
 * `ServiceAccountUpdated` reaches the feed only when it took a role away (it then carries the
 * account's new `epoch`), so that cached answers and access tokens naming the old roles end too.
 */
export const REVOCATION_TYPES = [
  "ServiceAccountDeactivated",
  "ServiceAccountDeleted",
  "ServiceAccountUpdated",
  "ApiKeyRotated",
  "ApiKeyRetentionExpired",
  "ApiKeyDeactivated",
  "ApiKeyDeleted",
] as const;

export type RevocationType = (typeof REVOCATION_TYPES)[number];

export function revocationStreamName(stream: string): string {
  return `${stream}_REVOCATIONS`;
}

/** One message of the feed, as far as a verifier needs it. */
export interface Revocation {
  /** Its sequence in the feed stream (not in the event stream). */
  readonly seq: number;
  /** The event type; a type this SDK does not know yet is kept as it came. */
  readonly type: string;
  readonly accountId: string;
  /** The key a key event is about; null for an account event (or an unreadable key event). */
  readonly keyId: string | null;
  /** When the event happened, in milliseconds since the epoch; null when unreadable. */
  readonly occurredAtMs: number | null;
  /** `data.generation` of ApiKeyRotated and ApiKeyRetentionExpired. */
  readonly generation: number | null;
  /** `data.retainedUntil` of ApiKeyRotated: the previous secret still works until then. */
  readonly retained: boolean;
  /**
   * `data.epoch`: the key's (key events) or account's (account events) token epoch after this
   * revocation; a token naming an earlier one is dead. Null for events written before epochs existed.
   */
  readonly epoch: number | null;
}

/**
 * Reads a feed message: the subject `kl.revoked.<accountId>.<EventType>` says whose it is, the
 * payload (the event envelope, JSON) says which key. Never throws: a message it cannot read
 * names at least its account through the subject, or is null (not a feed subject).
 */
export function readRevocation(seq: number, subject: string, payload: Uint8Array): Revocation | null {
  const tokens = subject.split(".");
  if (tokens.length !== 4 || `${tokens[0]}.${tokens[1]}` !== REVOCATION_SUBJECT_PREFIX) return null;
  const [, , accountId, type] = tokens as [string, string, string, string];
  let envelope: { type?: unknown; accountId?: unknown; occurredAt?: unknown; data?: Record<string, unknown> } = {};
  try {
    envelope = JSON.parse(new TextDecoder().decode(payload)) as typeof envelope;
  } catch {
    // unreadable payload: the subject alone still names the account
  }
  const data = typeof envelope.data === "object" && envelope.data !== null ? envelope.data : {};
  const occurredAtMs = typeof envelope.occurredAt === "string" ? Date.parse(envelope.occurredAt) : NaN;
  return {
    seq,
    type,
    accountId,
    keyId: typeof data.keyId === "string" ? data.keyId : null,
    occurredAtMs: Number.isFinite(occurredAtMs) ? occurredAtMs : null,
    generation: Number.isInteger(data.generation) ? (data.generation as number) : null,
    retained: typeof data.retainedUntil === "string",
    epoch: Number.isSafeInteger(data.epoch) ? (data.epoch as number) : null,
  };
}

/** Whether a revocation ends every credential of its account (else only those of `keyId`). */
export function endsAccount(revocation: Revocation): boolean {
  // An unknown type, or a key event whose key cannot be read, is taken as broadly as it can be.
  return revocation.keyId === null || !revocation.type.startsWith("ApiKey");
}
