import type { AccountState, KeyState } from "../domain/index.js";

/**
 * The LevelDB layout of the read model. Every key starts with a short prefix:
 *
 *   meta!layout                          version of this layout (another one is rebuilt from the stream)
 *   meta!checkpoint                      last stream sequence the projector passed (any subject)
 *   meta!digest                          running digest of the event messages up to it, with the last event's sequence
 *   meta!stream-checkpoint               the last authentic stream checkpoint seen: what the next one chains to
 *   meta!keys-head                       the last signing key statement that counted (seq, version, hash)
 *   meta!key-filter                      the key id filter as a clean shutdown left it, with its checkpoint
 *   acct!<accountId>                     AccountRecord (deleted accounts stay, flagged)
 *   key!<keyId>                          KeyRecord (the lookup of verification)
 *   acctkey!<accountId>!<keyId>          index: the keys of an account, in creation order
 *   name!<name>                          index: live account name → account id
 *   ret!<retainedUntil>!<keyId>          index: retentions the scheduler still has to close
 *   skipped!<seq, 16 digits>             event messages the projector could not apply, with why (SkippedEntry)
 *   meta!applied                         how many events the read model applied (skipped ones not counted)
 *
 * and the history, written in the same batches, so that questions about the past are seeks:
 *
 *   hacct!<accountId>!<seq>              AccountFields after each event of the account applied at seq
 *   hkey!<accountId>!<keyId>!<seq>       KeyState after an event at seq that changed the key
 *   hname!<name>!<seq>                   the account that bears the name from seq on ("" once nobody does)
 *   hseq!<seq>                           [accountId, events applied up to it]: what changed where (diff)
 *   born!<accountId>                     the sequence of the account's first event: who existed when (as-of lists)
 *
 * Sequences in keys are 16 decimal digits, so that LevelDB's order is the stream's.
 */
export const LAYOUT_VERSION = 4;
export const LAYOUT = "meta!layout";
export const CHECKPOINT = "meta!checkpoint";
export const DIGEST = "meta!digest";
export const STREAM_CHECKPOINT = "meta!stream-checkpoint";
export const KEYS_HEAD = "meta!keys-head";
export const KEY_FILTER = "meta!key-filter";
export const APPLIED = "meta!applied";
export const accountKey = (accountId: string): string => `acct!${accountId}`;
export const keyKey = (keyId: string): string => `key!${keyId}`;
export const accountKeyIndex = (accountId: string, keyId: string): string => `acctkey!${accountId}!${keyId}`;
export const accountKeysRange = (accountId: string) => ({ gt: `acctkey!${accountId}!`, lt: `acctkey!${accountId}!~` });
export const nameKey = (name: string): string => `name!${name}`;
export const retentionKey = (retainedUntil: string, keyId: string): string => `ret!${retainedUntil}!${keyId}`;
export const RETENTIONS_RANGE = { gt: "ret!", lt: "ret!~" };
export const seqText = (seq: number): string => String(seq).padStart(16, "0");
export const skippedKey = (seq: number): string => `skipped!${seqText(seq)}`;
export const SKIPPED_RANGE = { gt: "skipped!", lt: "skipped!~" };
export const ACCOUNTS_RANGE = { gt: "acct!", lt: "acct!~" };
export const KEYS_RANGE = { gt: "key!", lt: "key!~" };

export const accountVersionKey = (accountId: string, seq: number): string => `hacct!${accountId}!${seqText(seq)}`;
/** The versions of one account up to `seq` (the last one is its state then). */
export const accountVersionsUpTo = (accountId: string, seq: number) => ({
  gte: `hacct!${accountId}!`,
  lte: accountVersionKey(accountId, seq),
});
export const keyVersionKey = (accountId: string, keyId: string, seq: number): string =>
  `hkey!${accountId}!${keyId}!${seqText(seq)}`;
export const keyVersionsUpTo = (accountId: string, keyId: string, seq: number) => ({
  gte: `hkey!${accountId}!${keyId}!`,
  lte: keyVersionKey(accountId, keyId, seq),
});
export const nameHolderKey = (name: string, seq: number): string => `hname!${name}!${seqText(seq)}`;
export const nameHoldersUpTo = (name: string, seq: number) => ({ gte: `hname!${name}!`, lte: nameHolderKey(name, seq) });
export const changeKey = (seq: number): string => `hseq!${seqText(seq)}`;
/** The changes after `from` up to `to` (both stream sequences). */
export const changesBetween = (from: number, to: number) => ({ gt: changeKey(from), lte: changeKey(to) });
export const changesUpTo = (seq: number) => ({ gte: "hseq!", lte: changeKey(seq) });
/** What `hseq!<seq>` holds: the account the event at seq changed, and how many events were applied up to it. */
export type ChangeEntry = readonly [accountId: string, applied: number];
export const bornKey = (accountId: string): string => `born!${accountId}`;
export const BORN_RANGE = { gt: "born!", lt: "born!~" };
/** The sequence in a history key (its last 16 characters). */
export const seqOfKey = (key: string): number => Number(key.slice(-16));

export type AccountFields = Omit<AccountState, "keys">;

export interface AccountRecord {
  readonly account: AccountFields;
  /** Stream sequence of the account's last event: the expected sequence of its next append. */
  readonly streamSeq: number;
  /** Hash of the account's last event: the `prevHash` of its next one. */
  readonly lastHash: string;
}

export interface KeyRecord extends KeyState {
  readonly accountId: string;
}

export interface RetentionEntry {
  readonly accountId: string;
  readonly keyId: string;
  readonly generation: number;
  readonly retainedUntil: string;
}

/** The aggregate as the command side needs it: its state and where its chain stands. */
export interface Aggregate {
  readonly state: AccountState;
  readonly streamSeq: number;
  readonly lastHash: string;
}

/** Why an event message was passed over: `code` and `kid` say when no trusted key signed it. */
export interface SkippedEntry {
  readonly reason: string;
  readonly code?: "untrusted_signer";
  /** The key that signed it, for `untrusted_signer`. */
  readonly kid?: string;
}

/** The last authentic stream checkpoint: the next checkpoint of any daemon chains to it. */
export interface CheckpointHead {
  readonly seq: number;
  readonly hash: string;
  readonly eventCount: number;
  /** The last event message it covers. */
  readonly upToSeq: number;
}

/** The last signing key statement that counted, as the projector passed it. */
export interface KeysHead {
  readonly seq: number;
  readonly version: number;
  readonly hash: string;
}
