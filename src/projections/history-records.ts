import type { AccountState } from "../domain/index.js";
import {
  accountVersionKey,
  bornKey,
  changeKey,
  keyVersionKey,
  nameHolderKey,
  type AccountFields,
  type ChangeEntry,
} from "./layout.js";

/** Where an applied event is: its stream sequence, the events applied up to it, and when the stream stored it (ms). */
export interface ChangePlace {
  readonly seq: number;
  readonly applied: number;
  readonly storedAt: number;
}

export interface Put {
  readonly type: "put";
  readonly key: string;
  readonly value: unknown;
}

/**
 * The history records of one applied event: the account's fields after it, each key it changed
 * (evolve leaves an unchanged key the same object), the names it took or released, and where the
 * change happened. Written in the projector's batch with the current records, so the past is as
 * durable as the present, and a rebuild writes exactly the same records.
 */
export function historyRecords(before: AccountState | null, after: AccountState, where: ChangePlace): Put[] {
  const { seq, applied, storedAt } = where;
  const { keys, ...fields } = after;
  const puts: Put[] = [{ type: "put", key: accountVersionKey(after.id, seq), value: fields satisfies AccountFields }];
  if (before === null) puts.push({ type: "put", key: bornKey(after.id), value: seq });
  for (const key of Object.values(keys)) {
    if (before?.keys[key.id] === key) continue;
    puts.push({ type: "put", key: keyVersionKey(after.id, key.id, seq), value: key });
  }
  const oldName = nameBorne(before);
  const newName = nameBorne(after);
  if (oldName !== newName) {
    if (oldName !== null) puts.push({ type: "put", key: nameHolderKey(oldName, seq), value: "" });
    if (newName !== null) puts.push({ type: "put", key: nameHolderKey(newName, seq), value: after.id });
  }
  const change: ChangeEntry = [after.id, applied, storedAt];
  puts.push({ type: "put", key: changeKey(seq), value: change });
  return puts;
}

/** The name an account bears: none once it is deleted. */
function nameBorne(state: AccountState | null): string | null {
  return state === null || state.deleted ? null : state.name;
}
