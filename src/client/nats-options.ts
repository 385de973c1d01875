/**
 * Options for `connect` of `@nats-io/transport-node` (TLS, nkeys, an authenticator, …), passed on
 * as given. Typed loosely on purpose: the SDK's declarations then need no NATS package, which is an
 * optional peer loaded only when the revocation feed is followed.
 */
export type NatsConnectOptions = Readonly<Record<string, unknown>>;

/**
 * Where the revocation feed stands (`"off"` in a verifier without one):
 * - `connecting`: no NATS connection yet, or it was lost;
 * - `catching-up`: connected, reading what the feed holds past the last sequence seen;
 * - `live`: caught up, and the feed proved alive within the last few heartbeats;
 * - `closed`.
 */
export type FeedState = "connecting" | "catching-up" | "live" | "closed";
