export { auditStream, AuditStopped } from "./stream-audit.js";
export type { AuditOptions, AuditProblem, AuditProgress, AuditReport, ProblemCode } from "./stream-audit.js";
export { verifyBundle } from "./verify-bundle.js";
export type { BundleVerifyOptions } from "./verify-bundle.js";
