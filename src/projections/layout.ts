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
 */
export const LAYOUT_VERSION = 3;
export const LAYOUT = "meta!layout";
export const CHECKPOINT = "meta!checkpoint";
export const DIGEST = "meta!digest";
export const STREAM_CHECKPOINT = "meta!stream-checkpoint";
export const KEYS_HEAD = "meta!keys-head";
export const KEY_FILTER = "meta!key-filter";
export const accountKey = (accountId: string): string => `acct!${accountId}`;
export const keyKey = (keyId: string): string => `key!${keyId}`;
export const accountKeyIndex = (accountId: string, keyId: string): string => `acctkey!${accountId}!${keyId}`;
export const accountKeysRange = (accountId: string) => ({ gt: `acctkey!${accountId}!`, lt: `acctkey!${accountId}!~` });
export const nameKey = (name: string): string => `name!${name}`;
export const retentionKey = (retainedUntil: string, keyId: string): string => `ret!${retainedUntil}!${keyId}`;
export const RETENTIONS_RANGE = { gt: "ret!", lt: "ret!~" };
export const skippedKey = (seq: number): string => `skipped!${String(seq).padStart(16, "0")}`;
export const SKIPPED_RANGE = { gt: "skipped!", lt: "skipped!~" };
export const ACCOUNTS_RANGE = { gt: "acct!", lt: "acct!~" };
export const KEYS_RANGE = { gt: "key!", lt: "key!~" };

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
}

/** The last signing key statement that counted, as the projector passed it. */
export interface KeysHead {
  readonly seq: number;
  readonly version: number;
  readonly hash: string;
}
