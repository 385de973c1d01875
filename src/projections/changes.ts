import { InvalidValueError } from "../domain/index.js";
import { accountChange, type AccountChange } from "./diff.js";
import { PastAccounts } from "./history.js";
import { accountVersionsAtOrBefore, changesBetween, changesUpTo, seqOfKey, seqOfVersionKey, type ChangeEntry } from "./layout.js";
import type { ReadModel } from "./read-model.js";

export interface ChangesPage {
  /** The accounts that changed, in the order of their first change after `from`. */
  readonly changes: AccountChange[];
  /** Events applied after `from` up to `to` (all of them, not only this page's). */
  readonly events: number;
  readonly nextCursor: string | null;
}

/**
 * What changed between two points the read model has applied (`from` ≤ `to`, stream sequences),
 * a page at a time. The cost is that of the changes between the points: the `hseq!` records after
 * `from` are read in order, and each account found is looked up at both points; nothing before
 * `from` is read. The cursor is the sequence of the last change a page listed: the next page starts
 * after it and leaves out accounts that changed at or before it (the pages before listed them).
 */
export async function changesPage(
  readModel: ReadModel,
  from: number,
  to: number,
  page: { readonly limit: number; readonly cursor?: string },
): Promise<ChangesPage> {
  const after = page.cursor === undefined ? from : decodeChangesCursor(page.cursor, from, to);
  const then = new PastAccounts(readModel, from);
  const now = new PastAccounts(readModel, to);
  const changes: AccountChange[] = [];
  const seen = new Set<string>();
  let lastListed = after;
  let more = false;
  for await (const [key, value] of readModel.db.iterator(changesBetween(after, to))) {
    const [accountId] = value as ChangeEntry;
    if (seen.has(accountId)) continue;
    seen.add(accountId);
    if (after > from && (await changedBetween(readModel, accountId, from, after))) continue;
    const change = accountChange(await then.account(accountId), await now.account(accountId));
    if (change === null) continue;
    if (changes.length === page.limit) {
      more = true;
      break;
    }
    changes.push(change);
    lastListed = seqOfKey(key);
  }
  const events = (await appliedUpTo(readModel, to)) - (await appliedUpTo(readModel, from));
  return { changes, events, nextCursor: more ? encodeChangesCursor(lastListed) : null };
}

/** Whether the account has an applied event after `from` up to `to`. */
async function changedBetween(readModel: ReadModel, accountId: string, from: number, to: number): Promise<boolean> {
  for await (const key of readModel.db.keys({ ...accountVersionsAtOrBefore(accountId, to), limit: 1 }))
    return seqOfVersionKey(key) > from;
  return false;
}

/** How many events the read model had applied by `seq`. */
async function appliedUpTo(readModel: ReadModel, seq: number): Promise<number> {
  for await (const value of readModel.db.values({ ...changesUpTo(seq), reverse: true, limit: 1 }))
    return (value as ChangeEntry)[1];
  return 0;
}

function encodeChangesCursor(seq: number): string {
  return Buffer.from(`changes:${seq}`, "utf8").toString("base64url");
}

function decodeChangesCursor(cursor: string, from: number, to: number): number {
  const match = /^changes:(\d{1,16})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const seq = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(seq) || seq < from || seq > to)
    throw new InvalidValueError("cursor", "cursor is not one this API returned for these points");
  return seq;
}
