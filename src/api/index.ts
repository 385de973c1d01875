export { buildApp } from "./build-app.js";
export type { AppDeps, Readiness } from "./deps.js";
export { STATUS_OF } from "./errors.js";
