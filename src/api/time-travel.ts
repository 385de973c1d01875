import { KEY_ID_PATTERN, type AccountState, type KeyState } from "../domain/index.js";
import type { PointInTime } from "../projections/index.js";
import { parseAsOf } from "./as-of.js";
import type { AppDeps } from "./deps.js";
import { notFound } from "./errors.js";

/**
 * An account as it was at `asOf`, found by its id, or by the name it has now (a name it had only
 * in the past is not looked up: use the id). Not found when it did not exist then or was deleted.
 */
export async function accountAsOf(
  deps: AppDeps,
  idOrName: string,
  asOf: string,
): Promise<{ account: AccountState; point: PointInTime }> {
  const when = parseAsOf(asOf);
  const id = await deps.queries.knownAccountId(idOrName);
  if (id === null) throw notFound("service account");
  const point = await deps.timeTravel.resolve(when);
  const account = await deps.timeTravel.account(id, point);
  if (account === null || account.deleted) throw notFound("service account");
  return { account, point };
}

/** A live key of an account state, by id or by name. */
export function keyAsOf(account: AccountState, idOrName: string): KeyState {
  const key = KEY_ID_PATTERN.test(idOrName)
    ? account.keys[idOrName]
    : Object.values(account.keys).find((candidate) => !candidate.deleted && candidate.name === idOrName);
  if (key === undefined || key.deleted) throw notFound("API key");
  return key;
}
