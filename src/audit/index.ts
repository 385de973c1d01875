export { CheckpointWriter } from "./checkpoint-writer.js";
export type { CheckpointWriterOptions } from "./checkpoint-writer.js";
export { auditStream } from "./stream-audit.js";
export type { AuditOptions, AuditProblem, AuditProgress, AuditReport } from "./stream-audit.js";
