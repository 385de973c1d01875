import { KeyledgerClient } from "../client/index.js";
import type { Io } from "./io.js";
import { configPath, readLogin } from "./login-store.js";
import { UsageError } from "./usage-error.js";

/**
 * A client from the stored login, where KEYLEDGER_URL and KEYLEDGER_API_KEY override it (each on
 * its own), so a CI job or a container needs no `login` at all.
 */
export async function connectedClient(io: Io): Promise<KeyledgerClient> {
  const stored = await readLogin(configPath(io.env));
  const url = nonEmpty(io.env.KEYLEDGER_URL) ?? stored?.url;
  const apiKey = nonEmpty(io.env.KEYLEDGER_API_KEY) ?? stored?.apiKey;
  if (url === undefined || apiKey === undefined) {
    throw new UsageError("not logged in: run `keyledger login <url> --api-key`, or set KEYLEDGER_URL and KEYLEDGER_API_KEY");
  }
  return new KeyledgerClient({ url, credential: apiKey });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
