import { KeyledgerClient } from "../client/http.js";
import type { Io } from "./io.js";
import { configPath, readLogin } from "./login-store.js";
import { nodeFetch } from "./node-fetch.js";
import { UsageError } from "./usage-error.js";

/**
 * A client from the stored login, where KEYLEDGER_URL and KEYLEDGER_API_KEY override it, so a CI job
 * or a container needs no `login` at all. The stored key goes only to the stored URL: a different
 * KEYLEDGER_URL needs its own KEYLEDGER_API_KEY.
 */
export async function connectedClient(io: Io): Promise<KeyledgerClient> {
  return (await connection(io)).client;
}

/** A client, and where its credential came from: the stored login (at `loginPath`) or KEYLEDGER_API_KEY. */
export interface Connection {
  readonly client: KeyledgerClient;
  readonly url: string;
  readonly source: "login" | "environment";
  readonly loginPath: string;
}

export async function connection(io: Io): Promise<Connection> {
  const loginPath = configPath(io.env);
  const stored = await readLogin(loginPath);
  const envUrl = nonEmpty(io.env.KEYLEDGER_URL);
  const envKey = nonEmpty(io.env.KEYLEDGER_API_KEY);
  const url = normalizeUrl(envUrl ?? stored?.url);
  if (url === undefined || (envKey === undefined && stored === null)) {
    throw new UsageError("not logged in: run `keyledger login <url> --api-key`, or set KEYLEDGER_URL and KEYLEDGER_API_KEY");
  }
  if (envKey === undefined && stored !== null && url !== normalizeUrl(stored.url)) {
    throw new UsageError("KEYLEDGER_URL names another daemon than the stored login: set KEYLEDGER_API_KEY for it too");
  }
  const credential = envKey ?? stored!.apiKey;
  checkCredentialText(credential, envKey === undefined ? "the stored API key" : "KEYLEDGER_API_KEY");
  return {
    client: new KeyledgerClient({ url, credential, fetch: nodeFetch }),
    url,
    source: envKey === undefined ? "login" : "environment",
    loginPath,
  };
}

/** `http://host:8080/` and `http://host:8080` are the same daemon. */
export function normalizeUrl<T extends string | undefined>(url: T): T {
  return (url === undefined ? url : url.trim().replace(/\/+$/, "")) as T;
}

/** A credential with spaces or control characters is refused without being echoed anywhere. */
export function checkCredentialText(credential: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(credential))
    throw new UsageError(`${where} holds characters an API key never has (spaces, control or non-ASCII characters)`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
