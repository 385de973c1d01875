import { KeyledgerApiError, type KeyledgerClient } from "../client/http.js";
import { CommandFailed } from "./usage-error.js";

/** What a command is about to switch off: one API key of an account, or the account with all its keys. */
export interface Target {
  readonly account: string;
  readonly key?: string;
}

/**
 * Whether `target` is the credential this very command authenticates with: that key, or the
 * account that holds it. A target the daemon does not know (or does not show this caller) is not in
 * use: the request itself then answers why.
 */
export async function inUse(client: KeyledgerClient, target: Target): Promise<boolean> {
  const who = await client.whoami();
  try {
    const account = await client.getServiceAccount(target.account);
    if (account.id !== who.serviceAccount.id) return false;
    if (target.key === undefined) return true;
    return (await client.getApiKey(target.account, target.key)).id === who.apiKey.id;
  } catch (error) {
    if (error instanceof KeyledgerApiError && (error.status === 404 || error.status === 403)) return false;
    throw error;
  }
}

/**
 * Refuses a change that would lock the caller out, saying what and how to go on. `doing` reads
 * like "deactivating it", `ways` like "use another admin key".
 */
export function refuseLockout(target: Target, doing: string, ways: readonly string[]): never {
  const what =
    target.key === undefined
      ? `service account "${target.account}" holds the API key this command is logged in with`
      : `API key "${target.key}" of "${target.account}" is the one this command is logged in with`;
  throw new CommandFailed(
    `refused: ${what}, and ${doing} would lock you out (every later command with that key would be refused). ` +
      `To go on: ${[...ways, "add --force to do it anyway"].join("; or ")}.`,
  );
}

export const ANOTHER_KEY = "run it with another admin key (keyledger login URL --api-key, or KEYLEDGER_API_KEY)";
