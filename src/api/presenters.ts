import { keyStatus, previousSecretStatus, retentionInForce, type AccountState, type KeyState } from "../domain/index.js";
import type { AccountChange, AccountFields } from "../projections/index.js";
import type { Static } from "typebox";
import type { ApiKeyAsOf, AuditDiff, ServiceAccountAsOf } from "./schemas/audit.js";
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

/** An account and its live keys as they were at `at`, with each key's status then. */
export function presentAccountAsOf(account: AccountState, at: string): Static<typeof ServiceAccountAsOf> {
  return {
    ...presentAccount(account),
    apiKeys: Object.values(account.keys)
      .filter((key) => !key.deleted)
      .map((key) => presentKeyAsOf(key, account, at)),
  };
}

export function presentKeyAsOf(key: KeyState, account: AccountState, at: string): Static<typeof ApiKeyAsOf> {
  return {
    ...presentKey(key, account.id, null, new Date(at)),
    status: keyStatus(key, account, at),
    previousSecret: previousSecretStatus(key, at),
  };
}

/**
 * One account's change between two points: its states at each (as the account list shows them), and
 * each key that changed, with its status at each point.
 */
export function presentAccountChange(
  change: AccountChange,
  fromAt: string,
  toAt: string,
): Static<typeof AuditDiff>["accounts"][number] {
  const { before, after } = change;
  return {
    id: change.id,
    name: change.name,
    change: change.change,
    before: before === null ? null : presentAccount(before),
    after: after === null ? null : presentAccount(after),
    keys: change.keys.map((key) => ({
      id: key.id,
      name: key.name,
      change: key.change,
      before: key.before === null || before === null ? null : presentKeyAsOf(key.before, before, fromAt),
      after: key.after === null || after === null ? null : presentKeyAsOf(key.after, after, toAt),
    })),
  };
}
