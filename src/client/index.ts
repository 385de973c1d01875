export { KeyledgerApiError, KeyledgerConnectionError } from "./errors.js";
export { KeyledgerClient } from "./http-client.js";
export type { ClientOptions } from "./http-client.js";
export type * from "./types.js";
