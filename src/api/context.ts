import type { FastifyRequest } from "fastify";
import type { CommandContext } from "../application/index.js";
import type { AccountFields, KeyRecord, Queries } from "../projections/index.js";
import { notFound } from "./errors.js";
import { principalOf } from "./plugins/authenticate.js";

/** The actor and request id that go into every event a request causes. */
export function commandContext(request: FastifyRequest): CommandContext {
  const principal = principalOf(request);
  return {
    actor: { kind: "service_account", serviceAccountId: principal.account.id, apiKeyId: principal.key.id },
    requestId: String(request.id),
  };
}

export async function findAccount(queries: Queries, idOrName: string): Promise<AccountFields> {
  const account = await queries.resolveAccount(idOrName);
  if (account === null) throw notFound("service account");
  return account;
}

export async function findKey(
  queries: Queries,
  idOrName: string,
  keyIdOrName: string,
): Promise<{ account: AccountFields; key: KeyRecord }> {
  const account = await findAccount(queries, idOrName);
  const key = await queries.resolveKey(account.id, keyIdOrName);
  if (key === null) throw notFound("API key");
  return { account, key };
}
