/**
 * The stream's stored format and the checks that need nothing but the bytes: event envelopes, the
 * running digest, checkpoints, subjects. No NATS, no LevelDB, no HTTP: the daemon, the audit and the
 * offline bundle verifier all read the ledger through here.
 */
export {
  checkpointBytes,
  checkpointProblem,
  CHECKPOINT_SCHEMA_VERSION,
  decodeCheckpoint,
  MAX_REFUSED,
  sealCheckpoint,
} from "./checkpoint.js";
export type { KeysHead, RefusedMessages, StreamCheckpoint } from "./checkpoint.js";
export { advancePosition, EMPTY_DIGEST, nextDigest, START_POSITION } from "./digest.js";
export type { DigestPosition } from "./digest.js";
export { decodeEnvelope, SCHEMA_VERSION, sealEvent, signedBytes, toDomainEvent, upcast } from "./envelope.js";
export type { EventEnvelope, SealContext, StoredEvent, UnsignedEnvelope } from "./envelope.js";
export type { RawMessage } from "./message.js";
export { chainProblem, eventProblem, hashProblem, signatureProblem } from "./verify-event.js";
export type { ChainHead, SignerTrust } from "./verify-event.js";
export * from "./subjects.js";
export { BUNDLE_FORMAT, BUNDLE_VERSION, headerLine, messageLine, sealBytes, sealLine } from "./bundle.js";
export type { BundleHeader, BundleSeal } from "./bundle.js";
