/**
 * The client area's light entry: the HTTP client alone, its errors and its types; no verifier, no
 * revocation feed, no tweetnacl. What a command line (whose every command pays for what it loads)
 * or a browser needs. `index.ts` exports all of it too.
 */
export { KeyledgerApiError, KeyledgerConnectionError } from "./errors.js";
export { KeyledgerClient } from "./http-client.js";
export type { ClientOptions, FetchAnswer, FetchLike } from "./http-client.js";
export type * from "./types.js";
