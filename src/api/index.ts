export { buildApp } from "./build-app.js";
export type { AppDeps, Readiness } from "./deps.js";
export { STATUS_OF } from "./errors.js";
export { AUDIT_SHARE, auditAdmission } from "./audit-admission.js";
export { AuditPacer } from "./audit-pacer.js";
export { loadConsoleFiles } from "./console-files.js";
export type { AuditAdmission } from "./audit-admission.js";
