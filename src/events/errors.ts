/** The account's events moved on since the state the decision was made on. */
export class ConcurrencyError extends Error {
  constructor(readonly accountId: string) {
    super(`concurrent modification of ${accountId}`);
    this.name = "ConcurrencyError";
  }
}

/** The event store cannot be reached or did not confirm the write. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** The event store refused an operation for a reason other than concurrency or reachability. */
export class EventStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventStoreError";
  }
}
