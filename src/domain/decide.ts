import type { ServiceAccountCommand } from "./commands.js";
import {
  activateServiceAccount,
  createServiceAccount,
  deactivateServiceAccount,
  deleteServiceAccount,
  updateServiceAccount,
} from "./decide-account.js";
import {
  activateApiKey,
  createApiKey,
  deactivateApiKey,
  deleteApiKey,
  expireRetention,
  rotateApiKey,
  updateApiKey,
} from "./decide-key.js";
import type { DomainEvent } from "./events.js";
import type { State } from "./state.js";

/** The decider of a service account and its keys: a command and the current state give the new facts. */
export function decide(command: ServiceAccountCommand, state: State): DomainEvent[] {
  switch (command.type) {
    case "CreateServiceAccount":
      return createServiceAccount(command, state);
    case "UpdateServiceAccount":
      return updateServiceAccount(command, state);
    case "ActivateServiceAccount":
      return activateServiceAccount(command, state);
    case "DeactivateServiceAccount":
      return deactivateServiceAccount(command, state);
    case "DeleteServiceAccount":
      return deleteServiceAccount(command, state);
    case "CreateApiKey":
      return createApiKey(command, state);
    case "UpdateApiKey":
      return updateApiKey(command, state);
    case "ActivateApiKey":
      return activateApiKey(command, state);
    case "DeactivateApiKey":
      return deactivateApiKey(command, state);
    case "RotateApiKey":
      return rotateApiKey(command, state);
    case "ExpireRetention":
      return expireRetention(command, state);
    case "DeleteApiKey":
      return deleteApiKey(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}
