import type {
  ActivateServiceAccount,
  CreateServiceAccount,
  DeactivateServiceAccount,
  DeleteServiceAccount,
  UpdateServiceAccount,
} from "./commands.js";
import { ConflictError, NotFoundError } from "./errors.js";
import type { DomainEvent, ServiceAccountUpdated } from "./events.js";
import type { AccountState, State } from "./state.js";
import { checkDescription, checkName, normalizeRoles, sameRoles } from "./validate.js";

export function existingAccount(state: State): AccountState {
  if (state === null || state.deleted) throw new NotFoundError("service account not found");
  return state;
}

export function createServiceAccount(command: CreateServiceAccount, state: State): DomainEvent[] {
  if (state !== null) throw new ConflictError("service account already exists");
  const { name, description, roles, active, initialKey } = command.data;
  checkName("name", name);
  checkDescription("description", description);
  const events: DomainEvent[] = [
    {
      type: "ServiceAccountCreated",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { name, description, roles: normalizeRoles("roles", roles), active },
    },
  ];
  if (initialKey !== undefined) {
    checkName("apiKey.name", initialKey.name);
    events.push({
      type: "ApiKeyCreated",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { ...initialKey, description: "", expiresAt: null },
    });
  }
  return events;
}

/** Refuses changes that would lock the caller out: its own account deactivated, deleted or demoted. */
function guardSelf(command: { accountId: string; metadata: UpdateServiceAccount["metadata"] }, what: string): void {
  const actor = command.metadata.actor;
  if (actor.kind === "service_account" && actor.serviceAccountId === command.accountId) {
    throw new ConflictError(`you cannot ${what} the service account you are authenticated as`);
  }
}

export function updateServiceAccount(command: UpdateServiceAccount, state: State): DomainEvent[] {
  const account = existingAccount(state);
  const { name, description, roles, active } = command.data;
  const changes: { -readonly [K in keyof ServiceAccountUpdated["data"]]: ServiceAccountUpdated["data"][K] } = {};
  if (name !== undefined && name !== account.name) {
    checkName("name", name);
    changes.name = name;
  }
  if (description !== undefined && description !== account.description) {
    checkDescription("description", description);
    changes.description = description;
  }
  if (roles !== undefined) {
    const normalized = normalizeRoles("roles", roles);
    if (!sameRoles(normalized, account.roles)) {
      if (account.roles.includes("admin") && !normalized.includes("admin")) guardSelf(command, "remove the admin role from");
      changes.roles = normalized;
    }
  }
  const meta = { accountId: command.accountId, metadata: command.metadata, data: {} };
  // A deactivation goes first so that it holds even if a later event of this command is not appended.
  const before = active === false ? deactivateServiceAccount({ ...meta, type: "DeactivateServiceAccount" }, account) : [];
  // A role taken away ends the tokens that name it: the update carries the account's next epoch.
  if (changes.roles !== undefined && account.roles.some((role) => !changes.roles!.includes(role)))
    changes.epoch = account.epoch + before.length + 1;
  const update: DomainEvent[] =
    Object.keys(changes).length === 0
      ? []
      : [{ type: "ServiceAccountUpdated", accountId: command.accountId, occurredAt: command.metadata.now, data: changes }];
  const after = active === true ? activateServiceAccount({ ...meta, type: "ActivateServiceAccount" }, account) : [];
  return [...before, ...update, ...after];
}

export function activateServiceAccount(command: ActivateServiceAccount, state: State): DomainEvent[] {
  const account = existingAccount(state);
  if (account.active) return [];
  return [{ type: "ServiceAccountActivated", accountId: command.accountId, occurredAt: command.metadata.now, data: {} }];
}

export function deactivateServiceAccount(command: DeactivateServiceAccount, state: State): DomainEvent[] {
  const account = existingAccount(state);
  if (!account.active) return [];
  guardSelf(command, "deactivate");
  return [
    {
      type: "ServiceAccountDeactivated",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { epoch: account.epoch + 1 },
    },
  ];
}

export function deleteServiceAccount(command: DeleteServiceAccount, state: State): DomainEvent[] {
  const account = existingAccount(state);
  guardSelf(command, "delete");
  return [
    {
      type: "ServiceAccountDeleted",
      accountId: command.accountId,
      occurredAt: command.metadata.now,
      data: { epoch: account.epoch + 1 },
    },
  ];
}
