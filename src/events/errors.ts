/** The account's events moved on since the state the decision was made on. */
export class ConcurrencyError extends Error {
  constructor(readonly accountId: string) {
    super(`concurrent modification of ${accountId}`);
    this.name = "ConcurrencyError";
  }
}

/**
 * The event store cannot be reached or did not confirm the write. `mayHaveWritten` is true when
 * part of the change was appended, or a write timed out with an unknown outcome.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown; mayHaveWritten?: boolean }) {
    super(message, options);
    this.name = "StoreUnavailableError";
    this.mayHaveWritten = options?.mayHaveWritten ?? false;
  }

  readonly mayHaveWritten: boolean;
}

/** The event store refused an operation for a reason other than concurrency or reachability. */
export class EventStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventStoreError";
  }
}

/** The stream this ledger was written to is not on the NATS server (deleted, or a different server). */
export class StreamMissingError extends Error {
  constructor(readonly stream: string) {
    super(`the stream ${stream} does not exist on this NATS server`);
    this.name = "StreamMissingError";
  }
}
