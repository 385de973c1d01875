import type { FastifyRequest } from "fastify";
import { KEY_ID_PATTERN, type AccountState, type KeyState } from "../domain/index.js";
import type { PastAccounts, PointInTime } from "../projections/index.js";
import { parseAsOf } from "./as-of.js";
import type { AppDeps } from "./deps.js";
import { notFound } from "./errors.js";
import { principalOf } from "./plugins/authenticate.js";

/** Runs a request's audit work within the caller's and the daemon's caps (see AuditAdmission). */
export function auditWork<T>(deps: Pick<AppDeps, "audits">, request: FastifyRequest, work: () => Promise<T>): Promise<T> {
  return deps.audits.run(principalOf(request).account.id, work);
}

/** The read model as it was at `asOf` (an ISO instant or a stream sequence), with the point it resolved to. */
export async function pastAt(
  deps: Pick<AppDeps, "timeTravel">,
  asOf: string,
): Promise<{ past: PastAccounts; point: PointInTime }> {
  const point = await deps.timeTravel.resolve(parseAsOf(asOf));
  return { past: await deps.timeTravel.at(point), point };
}

/**
 * An account as it was at `asOf`, found by its id or by the name it bore **at that instant**
 * (deleted or renamed since: still found). Not found when it did not exist then or was deleted.
 */
export async function accountAsOf(
  deps: Pick<AppDeps, "timeTravel">,
  idOrName: string,
  asOf: string,
): Promise<{ account: AccountState; point: PointInTime }> {
  const { past, point } = await pastAt(deps, asOf);
  const id = await past.resolve(idOrName);
  const account = id === null ? null : await past.account(id);
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
