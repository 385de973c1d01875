import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { JetStreamApiError } from "@nats-io/jetstream";
import { ConcurrencyError, EventStoreError, StoreUnavailableError, StreamMissingError } from "./errors.js";

/** JetStream's "wrong last sequence" (10071): an expected-sequence check failed. */
export function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}

/** Whether a NATS error means "could not reach the server or JetStream", as opposed to a refusal. */
export function isUnavailable(error: unknown): boolean {
  if (
    error instanceof TimeoutError ||
    error instanceof NoRespondersError ||
    error instanceof ClosedConnectionError ||
    error instanceof DrainingConnectionError ||
    error instanceof ConnectionError ||
    error instanceof RequestError ||
    isNoRespondersWrapped(error)
  ) {
    return true;
  }
  // 503: JetStream not enabled or temporarily without a leader.
  return error instanceof JetStreamApiError && error.status === 503;
}

/**
 * "No responders" to a JetStream request or publish, which the client wraps in its
 * `JetStreamNotEnabled` error (not exported by the package) with the RequestError as the cause:
 * JetStream is off, or (in a cluster) the stream is between leaders while a new one is elected.
 * Nobody received the message, so nothing was stored.
 */
function isNoRespondersWrapped(error: unknown): boolean {
  return error instanceof Error && error.cause instanceof RequestError && error.cause.isNoResponders();
}

/** Turns a NATS error into the store's own errors, so that nothing above the store sees NATS. */
export function translate(error: unknown, doing: string): Error {
  if (
    error instanceof ConcurrencyError ||
    error instanceof StoreUnavailableError ||
    error instanceof EventStoreError ||
    error instanceof StreamMissingError
  )
    return error;
  if (isUnavailable(error)) return new StoreUnavailableError(`the event store is unavailable while ${doing}`, { cause: error });
  if (error instanceof JetStreamApiError)
    return new EventStoreError(`the event store refused ${doing}: ${error.message}`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
