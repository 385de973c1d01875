export { CheckpointWriter } from "./checkpoint-writer.js";
export type { CheckpointSource, CheckpointWriterOptions } from "./checkpoint-writer.js";
export { auditStream } from "./stream-audit.js";
export type { AuditOptions, AuditProblem, AuditProgress, AuditReport, ProblemCode } from "./stream-audit.js";
