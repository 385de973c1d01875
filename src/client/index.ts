export * from "./http.js";
export { createVerifier } from "./verifier.js";
export type { RevocationSeen, Verifier, VerifierOptions, VerifierStatus } from "./verifier.js";
export { createTokenVerifier, TOKEN_ISSUER } from "./access-tokens.js";
export type {
  AccessTokenClaims,
  TokenInvalidCode,
  TokenVerifier,
  TokenVerifierOptions,
  TokenVerifyResult,
} from "./access-tokens.js";
export { REVOCATION_FILTER, REVOCATION_SUBJECT_PREFIX, REVOCATION_TYPES, revocationStreamName } from "./revocation-contract.js";
export type { Revocation, RevocationType } from "./revocation-contract.js";
export type { FeedState, NatsConnectOptions } from "./nats-options.js";
export type { VerifierLogger } from "./verifier-logger.js";
