import { retentionInForce, type KeyState } from "../domain/index.js";
import type { AccountFields } from "../projections/index.js";
import type { ApiKey, ServiceAccount } from "./schemas/common.js";

/** Resources of the contract, from read-model records; nothing secret is ever copied across. */
export function presentAccount(account: AccountFields): ServiceAccount {
  return {
    id: account.id,
    name: account.name,
    description: account.description,
    active: account.active,
    roles: [...account.roles],
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
    version: account.version,
  };
}

export function presentKey(key: KeyState, serviceAccountId: string, lastUsedAt: string | null, now: Date): ApiKey {
  return {
    id: key.id,
    name: key.name,
    description: key.description,
    active: key.active,
    serviceAccountId,
    hint: key.hint,
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    lastRotatedAt: key.lastRotatedAt,
    lastUsedAt,
    expiresAt: key.expiresAt,
    retainedUntil: retentionInForce(key, now.toISOString())?.retainedUntil ?? null,
  };
}
