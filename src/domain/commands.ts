import type { Actor } from "./actor.js";
import type { Role } from "./rules.js";

/** What every command carries besides its data: the decider takes time and actor from here. */
export interface CommandMetadata {
  readonly now: string;
  readonly actor: Actor;
}

interface Command<T extends string, D> {
  readonly type: T;
  readonly accountId: string;
  readonly data: D;
  readonly metadata: CommandMetadata;
}

/** The first key of a new account, created with it in one decision. */
export interface InitialKey {
  readonly keyId: string;
  readonly name: string;
  readonly secretHash: string;
  readonly hint: string;
}

export type CreateServiceAccount = Command<
  "CreateServiceAccount",
  {
    readonly name: string;
    readonly description: string;
    readonly roles: readonly Role[];
    readonly active: boolean;
    readonly initialKey?: InitialKey;
  }
>;
export type UpdateServiceAccount = Command<
  "UpdateServiceAccount",
  { readonly name?: string; readonly description?: string; readonly roles?: readonly Role[]; readonly active?: boolean }
>;
export type ActivateServiceAccount = Command<"ActivateServiceAccount", Record<string, never>>;
export type DeactivateServiceAccount = Command<"DeactivateServiceAccount", Record<string, never>>;
export type DeleteServiceAccount = Command<"DeleteServiceAccount", Record<string, never>>;

export type CreateApiKey = Command<
  "CreateApiKey",
  {
    readonly keyId: string;
    readonly name: string;
    readonly description: string;
    readonly expiresAt: string | null;
    readonly secretHash: string;
    readonly hint: string;
  }
>;
export type UpdateApiKey = Command<
  "UpdateApiKey",
  {
    readonly keyId: string;
    readonly name?: string;
    readonly description?: string;
    readonly expiresAt?: string | null;
    readonly active?: boolean;
  }
>;
export type ActivateApiKey = Command<"ActivateApiKey", { readonly keyId: string }>;
export type DeactivateApiKey = Command<"DeactivateApiKey", { readonly keyId: string }>;
export type RotateApiKey = Command<
  "RotateApiKey",
  { readonly keyId: string; readonly secretHash: string; readonly hint: string; readonly retainSeconds: number }
>;
export type ExpireRetention = Command<"ExpireRetention", { readonly keyId: string; readonly generation: number }>;
export type DeleteApiKey = Command<"DeleteApiKey", { readonly keyId: string }>;

export type ServiceAccountCommand =
  | CreateServiceAccount
  | UpdateServiceAccount
  | ActivateServiceAccount
  | DeactivateServiceAccount
  | DeleteServiceAccount
  | CreateApiKey
  | UpdateApiKey
  | ActivateApiKey
  | DeactivateApiKey
  | RotateApiKey
  | ExpireRetention
  | DeleteApiKey;
