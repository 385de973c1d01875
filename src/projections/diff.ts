import type { AccountState, KeyState } from "../domain/index.js";
import { canonicalJson } from "../signing/index.js";

export type Change = "created" | "deleted" | "changed";

export interface KeyChange {
  readonly id: string;
  /** Its name after, else before (a key that came and went: the name it had). */
  readonly name: string;
  readonly change: Change;
  /** The key as it was at the first point, while it was live there (null: it was not). */
  readonly before: KeyState | null;
  readonly after: KeyState | null;
}

export interface AccountChange {
  readonly id: string;
  /** Its name after, else before (an account that came and went: the name it had). */
  readonly name: string;
  readonly change: Change;
  /** The account as it was at the first point, while it was live there (null: it was not). */
  readonly before: AccountState | null;
  readonly after: AccountState | null;
  readonly keys: KeyChange[];
}

/**
 * What became of one account between two points, from its states there (null: it did not exist).
 * Live means existing and not deleted. Created: not live before, live after; deleted: live before,
 * not live after; changed: live at both, with any difference (its keys included). An account or
 * key created and deleted between the two points is listed as deleted, with neither state (it was
 * never live at either point, yet it came and went). Null when nothing changed.
 */
export function accountChange(before: AccountState | null, after: AccountState | null): AccountChange | null {
  const liveBefore = live(before);
  const liveAfter = live(after);
  const keys = keyChanges(before, after);
  const change = changeOf(
    liveBefore,
    liveAfter,
    before !== null,
    after !== null,
    () => keys.length > 0 || !sameFields(liveBefore!, liveAfter!),
  );
  if (change === null) return null;
  const known = (liveAfter ?? liveBefore ?? after ?? before)!;
  return { id: known.id, name: known.name, change, before: liveBefore, after: liveAfter, keys };
}

function keyChanges(before: AccountState | null, after: AccountState | null): KeyChange[] {
  const ids = new Set([...Object.keys(before?.keys ?? {}), ...Object.keys(after?.keys ?? {})]);
  const changes: KeyChange[] = [];
  for (const id of [...ids].sort()) {
    const old = before?.keys[id];
    const now = after?.keys[id];
    const liveBefore = old === undefined || old.deleted ? null : old;
    const liveAfter = now === undefined || now.deleted ? null : now;
    const change = changeOf(liveBefore, liveAfter, old !== undefined, now !== undefined, () => !same(liveBefore, liveAfter));
    if (change !== null)
      changes.push({ id, name: (liveAfter ?? liveBefore ?? now ?? old)!.name, change, before: liveBefore, after: liveAfter });
  }
  return changes;
}

function changeOf<T>(
  liveBefore: T | null,
  liveAfter: T | null,
  existedBefore: boolean,
  existsAfter: boolean,
  differs: () => boolean,
): Change | null {
  if (liveBefore === null && liveAfter !== null) return "created";
  if (liveBefore !== null && liveAfter === null) return "deleted";
  if (liveBefore !== null && liveAfter !== null) return differs() ? "changed" : null;
  // Live at neither point: it came and went in between (or was gone before and stayed gone).
  return !existedBefore && existsAfter ? "deleted" : null;
}

function live(account: AccountState | null): AccountState | null {
  return account === null || account.deleted ? null : account;
}

function sameFields(before: AccountState, after: AccountState): boolean {
  const { keys: _before, ...beforeFields } = before;
  const { keys: _after, ...afterFields } = after;
  return same(beforeFields, afterFields);
}

function same(before: unknown, after: unknown): boolean {
  return canonicalJson(before) === canonicalJson(after);
}
