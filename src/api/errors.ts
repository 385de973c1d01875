import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { DomainError, type ErrorCode } from "../domain/index.js";
import { ConcurrencyError, StoreUnavailableError, StreamMissingError } from "../events/index.js";
import { ReadModelTimeoutError } from "../projections/index.js";
import { SigningKeyNotTrustedError } from "../trust/index.js";
import { describeValidation } from "./validation.js";

/** The one map from error code to HTTP status. */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** An error raised by the HTTP layer itself (authentication, roles, rate limits, odd requests). */
export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const unauthenticated = (): HttpError => new HttpError("unauthenticated", "a valid credential is required");
export const forbidden = (): HttpError => new HttpError("forbidden", "your service account's roles do not allow this");
export const notFound = (what: string): HttpError => new HttpError("not_found", `${what} not found`);

/** Fastify's own client errors by code, said the contract's way. */
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_MAX_PARAM_LENGTH: "a path parameter is too long: an id or a name has at most 64 characters",
  FST_ERR_BAD_URL: "the path is not a valid URL (bad percent-encoding)",
  FST_ERR_CTP_EMPTY_JSON_BODY: "body must not be empty when its content-type is application/json",
};

interface Classified {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryAfter?: number;
  /** A 5xx the daemon knows and expects (an outage, a busy daemon, an untrusted key): a warning, not an error. */
  readonly expected?: boolean;
}

function classify(error: FastifyError | Error): Classified {
  if (error instanceof HttpError)
    return { code: error.code, message: error.message, retryAfter: error.retryAfterSeconds, expected: true };
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  if (error instanceof ConcurrencyError)
    return { code: "conflict", message: "the change was made concurrently elsewhere, again and again; try again" };
  if (error instanceof SigningKeyNotTrustedError) return { code: "unavailable", message: error.message, expected: true };
  if (error instanceof StreamMissingError)
    return { code: "unavailable", message: "the event stream is missing from NATS; nothing was written", expected: true };
  if (error instanceof StoreUnavailableError) {
    const message = error.mayHaveWritten
      ? "the event store stopped answering during the change, which may be partly recorded: read it back before retrying"
      : "the event store cannot be reached; nothing was written";
    return { code: "unavailable", message, expected: true };
  }
  if (error instanceof ReadModelTimeoutError) {
    return {
      code: "unavailable",
      message: "the change was recorded but this daemon has not caught up yet; read it again shortly",
      expected: true,
    };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return { code: "invalid_request", message: describeValidation(fastifyError.validation, fastifyError.validationContext) };
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors: malformed JSON, wrong content type, body too large.
    const message =
      status === 413
        ? "body is too large"
        : status === 415
          ? "body must be application/json"
          : (FRAMEWORK_MESSAGES[fastifyError.code] ??
            "body is not valid JSON, or it holds a forbidden __proto__ or constructor.prototype member");
    return { code: "invalid_request", message };
  }
  return { code: "internal", message: "internal error" };
}

/** Errors fastify raises before routing (such as a malformed URL) take the same path. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  errorHandler(error, request, reply);
}

/** Maps every error to the contract's error body; a 5xx never shows its real message. */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const { code, message, retryAfter, expected } = classify(error);
  const status = STATUS_OF[code];
  // An expected 503 is a known state, said in one line; anything else 5xx keeps its stack for whoever debugs it.
  if (status >= 500 && expected === true) request.log.warn({ code, reason: message }, "request refused");
  else if (status >= 500) request.log.error({ err: error }, "request failed");
  if (retryAfter !== undefined) void reply.header("retry-after", String(retryAfter));
  void reply.header("x-request-id", String(request.id));
  void reply.status(status).send({ error: { code, message, requestId: String(request.id) } });
}
