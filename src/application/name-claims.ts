import { ACCOUNT_ID_PATTERN, fold } from "../domain/index.js";
import { StoreUnavailableError, type ClaimHeld, type JetStreamEventStore } from "../events/index.js";
import { toDomainEvent } from "../format/index.js";

/**
 * Whether the account behind a name claim still holds the name, judged from the stream itself
 * (not from a read model that may lag): a deleted account never does; an account whose name is the
 * claimed one does; otherwise (creation or rename in flight) the claim holds for a grace period.
 */
export function claimHeldByStream(store: JetStreamEventStore, clock: () => Date, graceMs: number): ClaimHeld {
  return async (claim) => {
    if (!ACCOUNT_ID_PATTERN.test(claim.accountId)) return false;
    let state;
    try {
      state = fold((await store.readAccount(claim.accountId)).map(toDomainEvent));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      return true; // a history that does not fold: keep the name rather than risk two owners
    }
    if (state?.deleted) return false;
    if (state?.name === claim.name) return true;
    return clock().getTime() - Date.parse(claim.claimedAt) < graceMs;
  };
}
