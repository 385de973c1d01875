export { RetentionScheduler } from "./retention-scheduler.js";
export type { SchedulerOptions } from "./retention-scheduler.js";
