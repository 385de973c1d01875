export type { Actor } from "./actor.js";
export { SYSTEM_BOOTSTRAP, SYSTEM_GENESIS, SYSTEM_SCHEDULER } from "./actor.js";
export { DUMMY_HASH, formatApiKey, hashApiKey, hintOf, keyIdOf, SECRET_BYTES } from "./api-key-format.js";
export type * from "./commands.js";
export { checkCredential, generationAccepted, tokenAccepted } from "./credential.js";
export type { AccountStatus, CredentialCheck, CredentialKind, VerifyFailureCode } from "./credential.js";
export { decide } from "./decide.js";
export { ConflictError, DomainError, InvalidValueError, NotFoundError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type * from "./events.js";
export { endsCredentials, EVENT_TYPES, MAYBE_REVOCATION, REVOCATION_EVENT_TYPES } from "./events.js";
export { evolve, fold } from "./evolve.js";
export { keyStatus, previousSecretStatus } from "./key-status.js";
export type { KeyStatus, PreviousSecretStatus } from "./key-status.js";
export {
  ACCOUNT_ID_PATTERN,
  KEY_ID_PATTERN,
  looksLikeId,
  MAX_DESCRIPTION,
  MAX_RETAIN_SECONDS,
  NAME_PATTERN,
  NAME_RULE,
  ROLES,
} from "./rules.js";
export type { Role } from "./rules.js";
export { initialState, keysWith, liveKeys, noKeys, pendingRetention, retentionInForce } from "./state.js";
export type { AccountState, KeyState, PreviousSecret, State } from "./state.js";
