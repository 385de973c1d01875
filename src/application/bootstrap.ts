import { chmodSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ConflictError, DomainError, SYSTEM_BOOTSTRAP } from "../domain/index.js";
import { StoreUnavailableError } from "../events/index.js";
import type { Queries } from "../projections/index.js";
import { newSecret, type NewSecret } from "./secrets.js";
import type { ServiceAccounts } from "./service-accounts.js";

export const ADMIN_ACCOUNT = "admin";
export const ADMIN_KEY_FILE = "admin.key";

/**
 * Makes sure an admin credential exists. On an empty stream (and whenever no active admin account
 * has a usable key, such as after a crash in the middle of a first start) it creates the account
 * `admin` with the role `admin` and a key, or a new key for an existing active `admin` account.
 * The key is written to `<data-dir>/admin.key` (mode 0600) *before* its event is appended, so a
 * crash never leaves a key nobody holds; the log names the file, never the key. Of several daemons
 * starting at once, the name claim (or the key name) lets exactly one win; the others remove their file.
 */
export async function bootstrapAdmin(deps: {
  queries: Queries;
  accounts: ServiceAccounts;
  dataDir: string;
  logger: Logger;
  clock: () => Date;
}): Promise<void> {
  const { queries, accounts, dataDir, logger } = deps;
  if (await queries.hasUsableAdmin(deps.clock())) return;
  const path = join(dataDir, ADMIN_KEY_FILE);
  const saved = (keyId: string): NewSecret => {
    const secret = newSecret(keyId);
    writeFileSync(path, `${secret.key}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return secret;
  };
  const context = { actor: SYSTEM_BOOTSTRAP, requestId: null };
  const existing = await queries.resolveAccount(ADMIN_ACCOUNT);
  try {
    if (existing === null) {
      const { account } = await accounts.create(
        { name: ADMIN_ACCOUNT, description: "created at bootstrap", roles: ["admin"] },
        context,
        saved,
      );
      logger.info({ path, serviceAccountId: account.id }, "bootstrap: admin account created; its API key is in this file");
    } else if (existing.active && existing.roles.includes("admin")) {
      const name = `bootstrap-${deps.clock().toISOString().replace(/[:.]/g, "-")}`;
      await accounts.createKey(existing.id, { name }, context, saved);
      logger.warn(
        { path, serviceAccountId: existing.id },
        "bootstrap: no usable admin key existed; a new key of the admin account is in this file",
      );
    } else {
      logger.error(
        { serviceAccountId: existing.id },
        "bootstrap: no usable admin credential exists, and the account named admin is inactive or lacks the admin role",
      );
    }
  } catch (error) {
    // The file goes only when its key surely is not in the stream; else it may be the only copy.
    const nothingWritten = error instanceof DomainError || (error instanceof StoreUnavailableError && !error.mayHaveWritten);
    if (nothingWritten) await rm(path, { force: true });
    if (!(error instanceof ConflictError)) throw error;
    logger.info("bootstrap: another daemon created the admin credential");
  }
}
