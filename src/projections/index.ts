export type { ProjectorTrust } from "./batch-checks.js";
export type {
  AccountFields,
  AccountRecord,
  Aggregate,
  CheckpointHead,
  KeyRecord,
  KeysHead,
  RetentionEntry,
  SkippedEntry,
} from "./layout.js";
export { FreshReadModel } from "./fresh-read-model.js";
export { ProjectionLag } from "./projection-lag.js";
export { Projector, ReadModelTimeoutError } from "./projector.js";
export type { ProjectorOptions } from "./projector.js";
export { pageAccounts, Queries } from "./queries.js";
export type { AccountFilter, AccountPage } from "./queries.js";
export { ReadModel } from "./read-model.js";
export type { Credential } from "./read-model.js";
export { reprojectionNeeded } from "./reprojection.js";
export type { ChangesPage } from "./changes.js";
export type { AccountChange, Change, KeyChange } from "./diff.js";
export { PastAccounts } from "./history.js";
export { TimeTravel } from "./time-travel.js";
export type { AsOf, PointInTime, StreamClock } from "./time-travel.js";
