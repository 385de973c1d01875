export type { AccountFields, AccountRecord, Aggregate, KeyRecord, RetentionEntry } from "./layout.js";
export { Projector, ReadModelTimeoutError } from "./projector.js";
export { Queries } from "./queries.js";
export type { AccountFilter, AccountPage } from "./queries.js";
export { ReadModel } from "./read-model.js";
