import type { Actor } from "../../../src/domain/actor.js";
import { hashApiKey } from "../../../src/domain/api-key-format.js";
import type { ServiceAccountCommand } from "../../../src/domain/commands.js";
import type { DomainEvent, EventType } from "../../../src/domain/events.js";

export const ACCOUNT_ID = "sa_01JABCDEFGHJKMNPQRSTVWXYZ0";
export const ADMIN_ACCOUNT_ID = "sa_01JABCDEFGHJKMNPQRSTVWXYZ9";
export const KEY_ID = "key_01JABCDEFGHJKMNPQRSTVWXYZ1";
export const OTHER_KEY_ID = "key_01JABCDEFGHJKMNPQRSTVWXYZ2";

/** Account created. */
export const T0 = "2026-01-01T00:00:00.000Z";
/** Key created; the default `now` of a command. */
export const T1 = "2026-01-02T00:00:00.000Z";
/** First rotation. */
export const T2 = "2026-01-03T00:00:00.000Z";
/** One hour after T2: the end of a retention started at T2. */
export const DEADLINE = "2026-01-03T01:00:00.000Z";
/** Second rotation or later. */
export const T3 = "2026-01-04T00:00:00.000Z";

/** An admin of another account, acting through one of its keys. */
export const ADMIN: Actor = {
  kind: "service_account",
  serviceAccountId: ADMIN_ACCOUNT_ID,
  apiKeyId: "key_01JABCDEFGHJKMNPQRSTVWXYZ8",
};
/** The account under test acting on itself. */
export const SELF: Actor = { kind: "service_account", serviceAccountId: ACCOUNT_ID, apiKeyId: KEY_ID };

export const HASH_0 = hashApiKey("secret of generation 0");
export const HASH_1 = hashApiKey("secret of generation 1");
export const HASH_2 = hashApiKey("secret of generation 2");

type CommandOf<T extends ServiceAccountCommand["type"]> = Extract<ServiceAccountCommand, { type: T }>;
type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

export function command<T extends ServiceAccountCommand["type"]>(
  type: T,
  data: CommandOf<T>["data"],
  options: { readonly now?: string; readonly actor?: Actor } = {},
): CommandOf<T> {
  const metadata = { now: options.now ?? T1, actor: options.actor ?? ADMIN };
  return { type, accountId: ACCOUNT_ID, data, metadata } as CommandOf<T>;
}

export function fact<T extends EventType>(type: T, occurredAt: string, data: EventOf<T>["data"]): EventOf<T> {
  return { type, accountId: ACCOUNT_ID, occurredAt, data } as EventOf<T>;
}

export const accountCreated = fact("ServiceAccountCreated", T0, {
  name: "billing-worker",
  description: "Bills customers",
  roles: ["admin", "verifier"],
  active: true,
});

export function keyCreated(keyId = KEY_ID, name = "primary", at = T1): EventOf<"ApiKeyCreated"> {
  const secretHash = keyId === KEY_ID ? HASH_0 : hashApiKey(`secret of ${keyId}`);
  return fact("ApiKeyCreated", at, { keyId, name, description: "", expiresAt: null, secretHash, hint: "kl_0…" });
}

/** An account with one live key, `primary`, at generation 0. */
export const withKey: readonly DomainEvent[] = [accountCreated, keyCreated()];
