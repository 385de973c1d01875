import type { Role } from "./rules.js";

/** A fact about one service account (or one of its keys), as the decider produces it. */
interface Fact<T extends string, D> {
  readonly type: T;
  readonly accountId: string;
  readonly occurredAt: string;
  readonly data: D;
}

export type ServiceAccountCreated = Fact<
  "ServiceAccountCreated",
  { readonly name: string; readonly description: string; readonly roles: readonly Role[]; readonly active: boolean }
>;
/**
 * `epoch` in an event is the account's or key's token epoch after it (see `AccountState.epoch`):
 * set on every fact that ends the access tokens issued before it, so that a subscriber of the
 * revocation feed knows which tokens died without counting the whole history. Events written before
 * it existed lack it; the read model counts the epochs itself either way.
 */
export type ServiceAccountUpdated = Fact<
  "ServiceAccountUpdated",
  {
    readonly name?: string;
    readonly description?: string;
    readonly roles?: readonly Role[];
    /** Present when the update removed a role: the account's tokens issued before it end. */
    readonly epoch?: number;
  }
>;
export type ServiceAccountDeactivated = Fact<"ServiceAccountDeactivated", { readonly epoch?: number }>;
export type ServiceAccountActivated = Fact<"ServiceAccountActivated", Record<string, never>>;
export type ServiceAccountDeleted = Fact<"ServiceAccountDeleted", { readonly epoch?: number }>;

export type ApiKeyCreated = Fact<
  "ApiKeyCreated",
  {
    readonly keyId: string;
    readonly name: string;
    readonly description: string;
    readonly expiresAt: string | null;
    readonly secretHash: string;
    readonly hint: string;
  }
>;
export type ApiKeyUpdated = Fact<
  "ApiKeyUpdated",
  { readonly keyId: string; readonly name?: string; readonly description?: string; readonly expiresAt?: string | null }
>;
export type ApiKeyRotated = Fact<
  "ApiKeyRotated",
  {
    readonly keyId: string;
    readonly secretHash: string;
    readonly hint: string;
    /** Generation of the new secret: 0 at creation, one more per rotation. */
    readonly generation: number;
    /** Until when the previous secret is still accepted; null when it stopped at once. */
    readonly retainedUntil: string | null;
  }
>;
export type ApiKeyRetentionExpired = Fact<
  "ApiKeyRetentionExpired",
  {
    readonly keyId: string;
    /** Generation of the retained secret that is now dead. */
    readonly generation: number;
    readonly reason: "deadline" | "superseded";
  }
>;
export type ApiKeyDeactivated = Fact<"ApiKeyDeactivated", { readonly keyId: string; readonly epoch?: number }>;
export type ApiKeyActivated = Fact<"ApiKeyActivated", { readonly keyId: string }>;
export type ApiKeyDeleted = Fact<"ApiKeyDeleted", { readonly keyId: string; readonly epoch?: number }>;

export type ServiceAccountEvent =
  ServiceAccountCreated | ServiceAccountUpdated | ServiceAccountDeactivated | ServiceAccountActivated | ServiceAccountDeleted;

export type ApiKeyEvent =
  ApiKeyCreated | ApiKeyUpdated | ApiKeyRotated | ApiKeyRetentionExpired | ApiKeyDeactivated | ApiKeyActivated | ApiKeyDeleted;

export type DomainEvent = ServiceAccountEvent | ApiKeyEvent;
export type EventType = DomainEvent["type"];

export const EVENT_TYPES: readonly EventType[] = [
  "ServiceAccountCreated",
  "ServiceAccountUpdated",
  "ServiceAccountDeactivated",
  "ServiceAccountActivated",
  "ServiceAccountDeleted",
  "ApiKeyCreated",
  "ApiKeyUpdated",
  "ApiKeyRotated",
  "ApiKeyRetentionExpired",
  "ApiKeyDeactivated",
  "ApiKeyActivated",
  "ApiKeyDeleted",
];

/** Events after which some credential that worked before no longer works. */
export const REVOCATION_EVENT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  "ServiceAccountDeactivated",
  "ServiceAccountDeleted",
  "ApiKeyRotated",
  "ApiKeyRetentionExpired",
  "ApiKeyDeactivated",
  "ApiKeyDeleted",
]);

/** The types of which some events end credentials: the revocations, and an update that removes a role. */
export const MAYBE_REVOCATION: ReadonlySet<EventType> = new Set<EventType>([...REVOCATION_EVENT_TYPES, "ServiceAccountUpdated"]);

/**
 * Whether an event ends some credential or what it may do: every revocation, and an update that
 * took a role away (it carries the account's new `epoch`), after which a token's roles are stale.
 */
export function endsCredentials(event: DomainEvent): boolean {
  if (REVOCATION_EVENT_TYPES.has(event.type)) return true;
  return event.type === "ServiceAccountUpdated" && event.data.epoch !== undefined;
}
