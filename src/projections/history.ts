import { ACCOUNT_ID_PATTERN, noKeys, type AccountState, type KeyState } from "../domain/index.js";
import {
  accountKeyVersionsRange,
  accountVersionKey,
  accountVersionsAtOrBefore,
  ACCOUNT_VERSIONS_RANGE,
  BORN_RANGE,
  nameHoldersAtOrBefore,
  seqOfVersionKey,
  type AccountFields,
} from "./layout.js";
import { decodeCursor, pageAccounts, type AccountFilter, type AccountPage } from "./queries.js";
import type { ReadModel } from "./read-model.js";

/**
 * The read model as it was after the stream message at `seq` (which it has applied): each question
 * is a few forward seeks in the history records (their versions are newest first), whatever the
 * length of the history before or after.
 */
export class PastAccounts {
  constructor(
    private readonly readModel: ReadModel,
    readonly seq: number,
  ) {}

  /** An account's fields then (null: it did not exist yet). Deleted accounts are returned, flagged. */
  async fields(accountId: string): Promise<AccountFields | null> {
    return ((await this.first(accountVersionsAtOrBefore(accountId, this.seq))) as AccountFields | undefined) ?? null;
  }

  /** An account with every key it had then (deleted ones flagged), or null when it did not exist yet. */
  async account(accountId: string): Promise<AccountState | null> {
    const fields = await this.fields(accountId);
    return fields === null ? null : { ...fields, keys: await this.keysOf(accountId) };
  }

  /**
   * Every key of an account then, in id order (creation order): one range read of the account's
   * key versions, key by key and each key's newest first, keeping the first version at or before
   * the point. Its cost follows that account's own key changes, never the history's length; only
   * the versions kept are decoded.
   */
  private async keysOf(accountId: string): Promise<Record<string, KeyState>> {
    const range = accountKeyVersionsRange(accountId);
    const keys = noKeys();
    const entries = await this.readModel.db.iterator<string, string>({ ...range, valueEncoding: "utf8" }).all();
    for (const [key, value] of entries) {
      const keyId = key.slice(range.gt.length, -17);
      if (keys[keyId] === undefined && seqOfVersionKey(key) <= this.seq) keys[keyId] = JSON.parse(value) as KeyState;
    }
    return keys;
  }

  /** The account that bore `name` then (null: none did). */
  async idByName(name: string): Promise<string | null> {
    const holder = (await this.first(nameHoldersAtOrBefore(name, this.seq))) as string | undefined;
    return holder === undefined || holder === "" ? null : holder;
  }

  /** An account by its id, or by the name it bore then. */
  async resolve(idOrName: string): Promise<string | null> {
    return ACCOUNT_ID_PATTERN.test(idOrName) ? idOrName : this.idByName(idOrName);
  }

  /** One page of the accounts live then, in id order, filtered on what they were then. */
  async page(filter: AccountFilter): Promise<AccountPage> {
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    return pageAccounts(this.fieldsInIdOrder(after), filter);
  }

  /**
   * The fields then of every account that existed then, in id order, after the cursor's account:
   * what `page` filters. The small `born!` index says which existed (an account created later is
   * passed over without a seek); the read stops where the page is full.
   */
  private async *fieldsInIdOrder(after: string | undefined): AsyncGenerator<AccountFields> {
    const range = after === undefined ? BORN_RANGE : { ...BORN_RANGE, gt: `born!${after}` };
    // One iterator over all account versions, moved by seeks: a seek lands on the account's newest
    // version at or before the point (or on another account's, when this one had none yet).
    const versions = this.readModel.db.iterator(ACCOUNT_VERSIONS_RANGE);
    try {
      for await (const [key, born] of this.readModel.db.iterator(range)) {
        if ((born as number) > this.seq) continue;
        const accountId = key.slice("born!".length);
        versions.seek(accountVersionKey(accountId, this.seq));
        const entry = await versions.next();
        if (entry !== undefined && entry[0].startsWith(`hacct!${accountId}!`)) yield entry[1] as AccountFields;
      }
    } finally {
      await versions.close();
    }
  }

  /** The value of the first record in a range (the newest version at or before the point). */
  private async first(range: { gte: string; lt: string }): Promise<unknown> {
    for await (const [, value] of this.readModel.db.iterator({ ...range, limit: 1 })) return value;
    return undefined;
  }
}
