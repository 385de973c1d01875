import { ACCOUNT_ID_PATTERN, type AccountState, type KeyState } from "../domain/index.js";
import {
  accountKeysRange,
  accountVersionsUpTo,
  BORN_RANGE,
  keyVersionsUpTo,
  nameHoldersUpTo,
  type AccountFields,
} from "./layout.js";
import { decodeCursor, pageAccounts, type AccountFilter, type AccountPage } from "./queries.js";
import type { ReadModel } from "./read-model.js";

/**
 * The read model as it was after the stream message at `seq` (which it has applied): each question
 * is a few seeks in the history records, whatever the length of the history before or after.
 */
export class PastAccounts {
  constructor(
    private readonly readModel: ReadModel,
    readonly seq: number,
  ) {}

  /** An account's fields then (null: it did not exist yet). Deleted accounts are returned, flagged. */
  async fields(accountId: string): Promise<AccountFields | null> {
    return ((await this.last(accountVersionsUpTo(accountId, this.seq))) as AccountFields | undefined) ?? null;
  }

  /** An account with every key it had then (deleted ones flagged), or null when it did not exist yet. */
  async account(accountId: string): Promise<AccountState | null> {
    const fields = await this.fields(accountId);
    if (fields === null) return null;
    const keys: Record<string, KeyState> = {};
    for await (const indexKey of this.readModel.db.keys(accountKeysRange(accountId))) {
      const keyId = indexKey.slice(indexKey.lastIndexOf("!") + 1);
      const key = (await this.last(keyVersionsUpTo(accountId, keyId, this.seq))) as KeyState | undefined;
      if (key !== undefined) keys[keyId] = key;
    }
    return { ...fields, keys };
  }

  /** The account that bore `name` then (null: none did). */
  async idByName(name: string): Promise<string | null> {
    const holder = (await this.last(nameHoldersUpTo(name, this.seq))) as string | undefined;
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
    for await (const [key, born] of this.readModel.db.iterator(range)) {
      if ((born as number) > this.seq) continue;
      const fields = await this.fields(key.slice("born!".length));
      if (fields !== null) yield fields;
    }
  }

  /** The value of the last record in a range (the latest version at or before the point). */
  private async last(range: { gte: string; lte: string }): Promise<unknown> {
    for await (const [, value] of this.readModel.db.iterator({ ...range, reverse: true, limit: 1 })) return value;
    return undefined;
  }
}
