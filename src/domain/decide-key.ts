import type {
  ActivateApiKey,
  CreateApiKey,
  DeactivateApiKey,
  DeleteApiKey,
  ExpireRetention,
  RotateApiKey,
  UpdateApiKey,
} from "./commands.js";
import { existingAccount } from "./decide-account.js";
import { ConflictError, InvalidValueError, NotFoundError } from "./errors.js";
import type { ApiKeyUpdated, DomainEvent } from "./events.js";
import { MAX_RETAIN_SECONDS } from "./rules.js";
import { liveKeys, pendingRetention, type AccountState, type KeyState, type State } from "./state.js";
import { checkDescription, checkFutureInstant, checkName } from "./validate.js";

function existingKey(account: AccountState, keyId: string): KeyState {
  const key = account.keys[keyId];
  if (key === undefined || key.deleted) throw new NotFoundError("API key not found");
  return key;
}

function checkNameFree(account: AccountState, name: string, exceptKeyId?: string): void {
  if (liveKeys(account).some((key) => key.name === name && key.id !== exceptKeyId)) {
    throw new ConflictError(`an API key named "${name}" already exists in this service account`);
  }
}

export function createApiKey(command: CreateApiKey, state: State): DomainEvent[] {
  const account = existingAccount(state);
  const { keyId, name, description, expiresAt, secretHash, hint } = command.data;
  if (account.keys[keyId] !== undefined) throw new ConflictError("API key already exists");
  checkName("name", name);
  checkDescription("description", description);
  if (expiresAt !== null) checkFutureInstant("expiresAt", expiresAt, command.metadata.now);
  checkNameFree(account, name);
  return [
    {
      type: "ApiKeyCreated",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { keyId, name, description, expiresAt, secretHash, hint },
    },
  ];
}

export function updateApiKey(command: UpdateApiKey, state: State): DomainEvent[] {
  const account = existingAccount(state);
  const { keyId, name, description, expiresAt, active } = command.data;
  const key = existingKey(account, keyId);
  const changes: { -readonly [K in keyof ApiKeyUpdated["data"]]: ApiKeyUpdated["data"][K] } = { keyId };
  if (name !== undefined && name !== key.name) {
    checkName("name", name);
    checkNameFree(account, name, keyId);
    changes.name = name;
  }
  if (description !== undefined && description !== key.description) {
    checkDescription("description", description);
    changes.description = description;
  }
  if (expiresAt !== undefined && expiresAt !== key.expiresAt) {
    if (expiresAt !== null) checkFutureInstant("expiresAt", expiresAt, command.metadata.now);
    changes.expiresAt = expiresAt;
  }
  const base = { accountId: command.accountId, metadata: command.metadata, data: { keyId } };
  const before = active === false ? deactivateApiKey({ ...base, type: "DeactivateApiKey" }, account) : [];
  const update: DomainEvent[] =
    Object.keys(changes).length === 1
      ? []
      : [{ type: "ApiKeyUpdated", accountId: command.accountId, occurredAt: command.metadata.now, data: changes }];
  const after = active === true ? activateApiKey({ ...base, type: "ActivateApiKey" }, account) : [];
  return [...before, ...update, ...after];
}

export function activateApiKey(command: ActivateApiKey, state: State): DomainEvent[] {
  const key = existingKey(existingAccount(state), command.data.keyId);
  if (key.active) return [];
  return [{ type: "ApiKeyActivated", accountId: command.accountId, occurredAt: command.metadata.now, data: { keyId: key.id } }];
}

export function deactivateApiKey(command: DeactivateApiKey, state: State): DomainEvent[] {
  const key = existingKey(existingAccount(state), command.data.keyId);
  if (!key.active) return [];
  return [
    {
      type: "ApiKeyDeactivated",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { keyId: key.id, epoch: key.epoch + 1 },
    },
  ];
}

export function rotateApiKey(command: RotateApiKey, state: State): DomainEvent[] {
  const { keyId, secretHash, hint, retainSeconds } = command.data;
  const key = existingKey(existingAccount(state), keyId);
  if (!Number.isInteger(retainSeconds) || retainSeconds < 0 || retainSeconds > MAX_RETAIN_SECONDS) {
    throw new InvalidValueError("retainSeconds", `retainSeconds must be an integer from 0 to ${MAX_RETAIN_SECONDS}`);
  }
  const now = command.metadata.now;
  const events: DomainEvent[] = [];
  // At most one retained secret per key: a new rotation ends the one still retained.
  const pending = pendingRetention(key);
  if (pending !== null) {
    events.push({
      type: "ApiKeyRetentionExpired",
      accountId: command.accountId,
      occurredAt: now,
      data: { keyId, generation: pending.generation, reason: "superseded" },
    });
  }
  const retainedUntil = retainSeconds === 0 ? null : new Date(Date.parse(now) + retainSeconds * 1000).toISOString();
  events.push({
    type: "ApiKeyRotated",
    accountId: command.accountId,
    occurredAt: now,
    data: { keyId, secretHash, hint, generation: key.generation + 1, retainedUntil },
  });
  return events;
}

/** Closes a retention whose deadline has passed; anything else (already closed, superseded, deleted) is a no-op. */
export function expireRetention(command: ExpireRetention, state: State): DomainEvent[] {
  if (state === null || state.deleted) return [];
  const key = state.keys[command.data.keyId];
  if (key === undefined) return [];
  const pending = pendingRetention(key);
  if (pending === null || pending.generation !== command.data.generation) return [];
  if (Date.parse(pending.retainedUntil) > Date.parse(command.metadata.now)) return [];
  return [
    {
      type: "ApiKeyRetentionExpired",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { keyId: key.id, generation: pending.generation, reason: "deadline" },
    },
  ];
}

export function deleteApiKey(command: DeleteApiKey, state: State): DomainEvent[] {
  const key = existingKey(existingAccount(state), command.data.keyId);
  return [
    {
      type: "ApiKeyDeleted",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { keyId: key.id, epoch: key.epoch + 1 },
    },
  ];
}
