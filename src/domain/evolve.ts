import type { DomainEvent } from "./events.js";
import { keysWith, noKeys, type AccountState, type KeyState, type State } from "./state.js";

/** Applies one fact to the state of its account. Pure; unknown facts are a programming error. */
export function evolve(state: State, event: DomainEvent): State {
  const at = event.occurredAt;
  if (event.type === "ServiceAccountCreated") {
    return {
      id: event.accountId,
      ...event.data,
      deleted: false,
      createdAt: at,
      updatedAt: at,
      version: 1,
      epoch: 0,
      keys: noKeys(),
    };
  }
  if (state === null) throw new Error(`${event.type} before ServiceAccountCreated for ${event.accountId}`);
  const next = (changes: Partial<AccountState>): AccountState => ({
    ...state,
    ...changes,
    updatedAt: at,
    version: state.version + 1,
  });
  const withKey = (keyId: string, change: (key: KeyState) => Partial<KeyState>): AccountState => {
    const key = state.keys[keyId];
    if (key === undefined) throw new Error(`${event.type} for unknown key ${keyId}`);
    return next({ keys: keysWith(state.keys, { ...key, ...change(key), updatedAt: at }) });
  };

  switch (event.type) {
    case "ServiceAccountUpdated": {
      const { epoch: _stated, ...changes } = event.data;
      return next({ ...changes, epoch: removesRole(state, changes.roles) ? state.epoch + 1 : state.epoch });
    }
    case "ServiceAccountDeactivated":
      return next({ active: false, epoch: state.epoch + 1 });
    case "ServiceAccountActivated":
      return next({ active: true });
    case "ServiceAccountDeleted":
      return next({ deleted: true, active: false, epoch: state.epoch + 1 });
    case "ApiKeyCreated": {
      const { keyId, ...data } = event.data;
      const key: KeyState = {
        id: keyId,
        ...data,
        active: true,
        deleted: false,
        generation: 0,
        previous: null,
        createdAt: at,
        updatedAt: at,
        lastRotatedAt: null,
        epoch: 0,
      };
      return next({ keys: keysWith(state.keys, key) });
    }
    case "ApiKeyUpdated": {
      const { keyId, ...changes } = event.data;
      return withKey(keyId, () => changes);
    }
    case "ApiKeyRotated":
      return withKey(event.data.keyId, (key) => ({
        secretHash: event.data.secretHash,
        hint: event.data.hint,
        generation: event.data.generation,
        lastRotatedAt: at,
        previous: {
          secretHash: key.secretHash,
          generation: key.generation,
          retainedUntil: event.data.retainedUntil ?? at,
          expired: event.data.retainedUntil === null,
        },
      }));
    case "ApiKeyRetentionExpired":
      return withKey(event.data.keyId, (key) => ({
        previous:
          key.previous === null || key.previous.generation !== event.data.generation
            ? key.previous
            : { ...key.previous, expired: true },
      }));
    case "ApiKeyDeactivated":
      return withKey(event.data.keyId, (key) => ({ active: false, epoch: key.epoch + 1 }));
    case "ApiKeyActivated":
      return withKey(event.data.keyId, () => ({ active: true }));
    case "ApiKeyDeleted":
      return withKey(event.data.keyId, (key) => ({ deleted: true, active: false, epoch: key.epoch + 1 }));
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Whether new roles leave out one the account had: its tokens, which name the roles, are then stale. */
function removesRole(state: AccountState, roles: readonly string[] | undefined): boolean {
  return roles !== undefined && state.roles.some((role) => !roles.includes(role));
}

export function fold(events: readonly DomainEvent[], state: State = null): State {
  return events.reduce(evolve, state);
}
