export { acceptStatement } from "./check-statement.js";
export type { CheckedStatement, StatementProblem, StatementProblemCode } from "./check-statement.js";
export { decideTrust, MAX_REASON } from "./decide.js";
export { foldStatements, StatementFold } from "./fold.js";
export type { FoldedTrust, StatementMessage, StatementRecord } from "./fold.js";
export type { ApproveKey, DecidedFact, EnrolGenesis, RevokeKey, TrustCommand } from "./decide.js";
export { SigningKeyNotTrustedError } from "./errors.js";
export { evolveTrust } from "./evolve.js";
export { gatedSigner } from "./gate.js";
export { isFingerprintOf, KID_PATTERN, publicKeyOf } from "./fingerprint.js";
export { sealStatement } from "./seal-statement.js";
export type { StatementContext } from "./seal-statement.js";
export { EMPTY_TRUST, signerAt, statusOf, trustedNow } from "./state.js";
export type { EnrolledKey, KeyStatus, SignerCheck, TrustState, UntrustedSigner } from "./state.js";
export { decodeStatement, STATEMENT_SCHEMA_VERSION, statementBytes } from "./statement.js";
export type {
  KeyFact,
  KeyStatement,
  SigningKeyEnrolled,
  SigningKeyRevoked,
  StatementType,
  UnsignedStatement,
} from "./statement.js";
