import { ACCOUNT_ID_PATTERN, InvalidValueError, KEY_ID_PATTERN } from "../domain/index.js";
import {
  ACCOUNTS_RANGE,
  nameHoldersRange,
  RETENTIONS_RANGE,
  type AccountFields,
  type AccountRecord,
  type KeyRecord,
  type RetentionEntry,
} from "./layout.js";
import type { Credential, ReadModel } from "./read-model.js";

export interface AccountFilter {
  readonly active?: boolean;
  /** Case-insensitive substring of the name. */
  readonly name?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface AccountPage {
  readonly items: AccountFields[];
  readonly nextCursor: string | null;
}

/** Reads of the read model that the API and the scheduler need; no write goes through here. */
export class Queries {
  constructor(private readonly readModel: ReadModel) {}

  /** The id of a live account given its id or its name. */
  async resolveAccount(idOrName: string): Promise<AccountFields | null> {
    const id = ACCOUNT_ID_PATTERN.test(idOrName) ? idOrName : await this.readModel.accountIdByName(idOrName);
    if (id === undefined) return null;
    const aggregate = await this.readModel.aggregate(id);
    if (aggregate === null || aggregate.state.deleted) return null;
    const { keys: _keys, ...account } = aggregate.state;
    return account;
  }

  /**
   * The id of an account this read model has ever seen, given its id (deleted accounts included,
   * for history) or a name: the account that bears it now, else the last one that bore it (deleted
   * or renamed since); null when there is none.
   */
  async knownAccountId(idOrName: string): Promise<string | null> {
    if (ACCOUNT_ID_PATTERN.test(idOrName)) return (await this.readModel.aggregate(idOrName)) === null ? null : idOrName;
    const current = await this.resolveAccount(idOrName);
    if (current !== null) return current.id;
    for await (const holder of this.readModel.db.values(nameHoldersRange(idOrName))) if (holder !== "") return holder as string;
    return null;
  }

  /** A live key of a live account, given the key's id or its name within the account. */
  async resolveKey(accountId: string, idOrName: string): Promise<KeyRecord | null> {
    const keys = (await this.readModel.aggregate(accountId))?.state.keys ?? {};
    const key = KEY_ID_PATTERN.test(idOrName)
      ? keys[idOrName]
      : Object.values(keys).find((candidate) => !candidate.deleted && candidate.name === idOrName);
    return key === undefined || key.deleted ? null : { ...key, accountId };
  }

  async listAccounts(filter: AccountFilter): Promise<AccountPage> {
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const range = after === undefined ? ACCOUNTS_RANGE : { ...ACCOUNTS_RANGE, gt: `acct!${after}` };
    const readModel = this.readModel;
    async function* accounts(): AsyncGenerator<AccountFields> {
      for await (const value of readModel.db.values(range)) yield (value as AccountRecord).account;
    }
    return pageAccounts(accounts(), filter);
  }

  /** The live keys of an account, in creation order. */
  async listKeys(accountId: string, active?: boolean): Promise<KeyRecord[]> {
    const keys = await this.keysOf(accountId);
    return keys.filter((key) => !key.deleted && (active === undefined || key.active === active));
  }

  /** Every key of an account (deleted ones too) in id order, which is creation order. */
  private async keysOf(accountId: string): Promise<KeyRecord[]> {
    const aggregate = await this.readModel.aggregate(accountId);
    if (aggregate === null) return [];
    return Object.values(aggregate.state.keys)
      .map((key) => ({ ...key, accountId }))
      .sort((x, y) => (x.id < y.id ? -1 : 1));
  }

  /**
   * What verification needs: the key record (deleted ones included) and its account's status.
   * Recently used credentials come from memory (ReadModel keeps them exact); the key id is no
   * secret (it is part of the key and of every listing), the secret's comparison stays constant-time.
   */
  async credential(keyId: string | null): Promise<Credential | null> {
    return this.readModel.credential(keyId ?? STAND_IN_KEY_ID);
  }

  /** The credential if it is in memory now (undefined: ask `credential`). */
  cachedCredential(keyId: string | null): Credential | undefined {
    return keyId === null ? undefined : this.readModel.cachedCredential(keyId);
  }

  /** False only when the read model surely holds no key of this id: then there is nothing to read. */
  mayHoldKey(keyId: string | null): boolean {
    return this.readModel.mayHoldKey(keyId ?? STAND_IN_KEY_ID);
  }

  /** Whether some active admin account has a key that works now (the bootstrap's question). */
  async hasUsableAdmin(now: Date): Promise<boolean> {
    for await (const value of this.readModel.db.values(ACCOUNTS_RANGE)) {
      const { account } = value as AccountRecord;
      if (account.deleted || !account.active || !account.roles.includes("admin")) continue;
      const keys = await this.readModel.keysOf(account.id);
      if (keys.some((key) => !key.deleted && key.active && (key.expiresAt === null || Date.parse(key.expiresAt) > now.getTime())))
        return true;
    }
    return false;
  }

  /**
   * Keys that signed event messages before `beforeSeq` which the read model passed over as signed
   * by no trusted key, with how many each (the signers of a stream older than its trust root).
   */
  async untrustedSigners(beforeSeq: number): Promise<Map<string, number>> {
    const signers = new Map<string, number>();
    for (const entry of await this.readModel.skipped()) {
      if (entry.seq >= beforeSeq) break;
      if (entry.code === "untrusted_signer" && entry.kid !== undefined) signers.set(entry.kid, (signers.get(entry.kid) ?? 0) + 1);
    }
    return signers;
  }

  /** Retentions whose deadline is at or before `now`, oldest first. */
  async dueRetentions(now: string, limit: number): Promise<RetentionEntry[]> {
    const due: RetentionEntry[] = [];
    for await (const value of this.readModel.db.values({ gt: RETENTIONS_RANGE.gt, lte: `ret!${now}!~`, limit })) {
      const entry = value as RetentionEntry;
      if (Date.parse(entry.retainedUntil) > Date.parse(now)) break;
      due.push(entry);
    }
    return due;
  }
}

/**
 * One page of live accounts in id order, after the filter's cursor, matching its `active` and
 * `name` (a case-insensitive substring); used for the read model and for states of the past.
 */
export async function pageAccounts(
  accounts: AsyncIterable<AccountFields> | Iterable<AccountFields>,
  filter: AccountFilter,
): Promise<AccountPage> {
  const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const needle = filter.name?.toLowerCase();
  const items: AccountFields[] = [];
  let more = false;
  for await (const account of accounts) {
    if (account.deleted || (after !== undefined && account.id <= after)) continue;
    if (filter.active !== undefined && account.active !== filter.active) continue;
    if (needle !== undefined && !account.name.toLowerCase().includes(needle)) continue;
    if (items.length === filter.limit) {
      more = true;
      break;
    }
    items.push(account);
  }
  const last = items.at(-1);
  return { items, nextCursor: more && last !== undefined ? encodeCursor(last.id) : null };
}

const STAND_IN_KEY_ID = "key_00000000000000000000000000";

function encodeCursor(accountId: string): string {
  return Buffer.from(accountId, "utf8").toString("base64url");
}

/** The account id a cursor of `pageAccounts` stands after. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!ACCOUNT_ID_PATTERN.test(id)) throw new InvalidValueError("cursor", "cursor is not one this API returned");
  return id;
}
