/** Who caused a fact: a credential of a service account, or the system itself. */
export type Actor =
  | { readonly kind: "service_account"; readonly serviceAccountId: string; readonly apiKeyId: string }
  | { readonly kind: "system"; readonly reason: "bootstrap" | "scheduler" | "genesis" };

export const SYSTEM_SCHEDULER: Actor = { kind: "system", reason: "scheduler" };
export const SYSTEM_BOOTSTRAP: Actor = { kind: "system", reason: "bootstrap" };
/** The daemon enrolling its own key as the ledger's trust anchor, on a stream that has none yet. */
export const SYSTEM_GENESIS: Actor = { kind: "system", reason: "genesis" };
