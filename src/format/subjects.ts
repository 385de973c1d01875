import type { EventType } from "../domain/index.js";

/**
 * Every NATS subject keyledger uses is built here, from generated ids or hex-encoded names, never
 * from raw user input (a name may hold `.`, which a subject token cannot).
 *
 *   kl.acct.<accountId>   every event of one service account, in order (the concurrency unit)
 *   kl.name.<hex(name)>   claims of an account name (reservations, appended with an expected sequence)
 *   kl.checkpoint         signed, chained checkpoints of the running digest of all events
 *   kl.keys               signing key statements: the genesis (trust anchor), enrolments, revocations
 *
 * and in the revocation feed, a stream of its own (`<stream>_REVOCATIONS`):
 *
 *   kl.revoked.<accountId>.<EventType>   a copy of each event after which a credential stops working
 */
export const EVENT_SUBJECT_PREFIX = "kl.acct";
export const NAME_SUBJECT_PREFIX = "kl.name";
export const CHECKPOINT_SUBJECT = "kl.checkpoint";
export const KEYS_SUBJECT = "kl.keys";
export const STREAM_SUBJECTS = [`${EVENT_SUBJECT_PREFIX}.*`, `${NAME_SUBJECT_PREFIX}.*`, CHECKPOINT_SUBJECT, KEYS_SUBJECT];
export const ALL_EVENTS_FILTER = `${EVENT_SUBJECT_PREFIX}.*`;

export const REVOCATION_SUBJECT_PREFIX = "kl.revoked";
export const REVOCATION_SUBJECTS = [`${REVOCATION_SUBJECT_PREFIX}.>`];

export function revocationStreamName(stream: string): string {
  return `${stream}_REVOCATIONS`;
}

export function revocationSubject(accountId: string, type: EventType): string {
  return `${REVOCATION_SUBJECT_PREFIX}.${accountSubject(accountId).slice(EVENT_SUBJECT_PREFIX.length + 1)}.${type}`;
}

const ACCOUNT_ID = /^sa_[0-9A-HJKMNP-TV-Z]{26}$/;

export function accountSubject(accountId: string): string {
  if (!ACCOUNT_ID.test(accountId)) throw new Error(`not an account id: ${JSON.stringify(accountId)}`);
  return `${EVENT_SUBJECT_PREFIX}.${accountId}`;
}

export function nameSubject(name: string): string {
  return `${NAME_SUBJECT_PREFIX}.${Buffer.from(name, "utf8").toString("hex")}`;
}

/** Whether a message of the stream is an event (on an account's subject), as opposed to a claim, checkpoint or key statement. */
export function isEventSubject(subject: string): boolean {
  return subject.startsWith(`${EVENT_SUBJECT_PREFIX}.`);
}

export function accountIdOfSubject(subject: string): string | null {
  const prefix = `${EVENT_SUBJECT_PREFIX}.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : null;
}
