/** The closed set of error codes of the HTTP contract; `internal` never carries a message out. */
export type ErrorCode =
  "invalid_request" | "unauthenticated" | "forbidden" | "not_found" | "conflict" | "rate_limited" | "unavailable" | "internal";

/** A rule of the domain was broken; the message is safe to show to the caller. */
export class DomainError extends Error {
  constructor(
    readonly code: Exclude<ErrorCode, "internal" | "unavailable" | "rate_limited">,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super("not_found", message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super("conflict", message);
  }
}

/** A value that passed the schema but breaks a rule, such as an expiry in the past. */
export class InvalidValueError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("invalid_request", message);
  }
}
