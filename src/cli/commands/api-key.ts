import type { Command } from "commander";
import type { ApiKeyWithSecret } from "../../client/http.js";
import { connectedClient, connection } from "../connect.js";
import { parseBoolean, parseDuration } from "../duration.js";
import { fields, keyFields, keyTable, secretLines, SHOWN_ONCE } from "../format.js";
import type { Io } from "../io.js";
import { ANOTHER_KEY, inUse, refuseLockout } from "../lockout.js";
import { writeLogin } from "../login-store.js";
import { emit, withOutput, type Format } from "../output.js";
import { CommandFailed, UsageError } from "../usage-error.js";
import { checkDescriptionLocally, checkNameLocally } from "../local-checks.js";
import { confirmed } from "./confirm.js";

export const API_KEY_VERBS = ["create", "list", "describe", "rotate", "update", "delete"] as const;

/**
 * `keyledger service-account api-key ACCOUNT <verb> …`. The contract puts the account before the
 * verb; main.ts moves it after the verb, where commander expects arguments.
 */
export function addApiKeyCommands(serviceAccount: Command, io: Io): void {
  const group = serviceAccount
    .command("api-key")
    .description("manage the API keys of a service account")
    .usage("ACCOUNT create|list|describe|rotate|update|delete [args] [options]");

  withOutput(
    group
      .command("create")
      .usage("ACCOUNT create NAME [options]")
      .description("create an API key; its secret is shown once")
      .argument("<account>")
      .argument("<name>")
      .option("-d, --description <text>", "what the key is for")
      .option("--expires-in <duration>", "expire after this long: 30d, 12h, 90m, 60s, or a number of minutes")
      .option("--expires-at <iso>", "expire at this ISO-8601 time"),
  ).action(
    async (
      account: string,
      name: string,
      options: { description?: string; expiresIn?: string; expiresAt?: string; output: Format },
    ) => {
      checkNameLocally("NAME", name);
      if (options.description !== undefined) checkDescriptionLocally("--description", options.description);
      if (options.expiresIn !== undefined && options.expiresAt !== undefined) {
        throw new UsageError("give --expires-in or --expires-at, not both");
      }
      const expiresAt =
        options.expiresIn !== undefined
          ? expiryIn(options.expiresIn)
          : options.expiresAt !== undefined
            ? isoInstant("--expires-at", options.expiresAt)
            : undefined;
      const { client, url } = await connection(io);
      const created = await client.createApiKey(account, { name, description: options.description, expiresAt });
      printSecret(io, options.output, created, url, `Created API key ${created.name} of ${account}.`);
    },
  );

  withOutput(
    group
      .command("list")
      .usage("ACCOUNT list [options]")
      .description("list the API keys of a service account")
      .argument("<account>"),
  ).action(async (account: string, options: { output: Format }) => {
    const items = await (await connectedClient(io)).listApiKeys(account);
    emit(io, options.output, { items }, () => (items.length === 0 ? "No API keys." : keyTable(items)));
  });

  withOutput(
    group
      .command("describe")
      .usage("ACCOUNT describe KEY [options]")
      .description("show an API key")
      .argument("<account>")
      .argument("<key>"),
  ).action(async (account: string, key: string, options: { output: Format }) => {
    const client = await connectedClient(io);
    const found = await client.getApiKey(account, key);
    // The table names the account; JSON stays the key as the API answers it.
    const accountName = options.output === "json" ? undefined : (await client.getServiceAccount(found.serviceAccountId)).name;
    emit(io, options.output, found, () => fields(keyFields(found, accountName)));
  });

  withOutput(
    group
      .command("rotate")
      .usage("ACCOUNT rotate KEY [--retain 60 | --retain 90s | --retain 2h] [options]")
      .description("give an API key a new secret; the old one keeps working for --retain (default: not at all)")
      .argument("<account>")
      .argument("<key>")
      .option("--retain <duration>", "how long the old secret keeps working: a number of minutes, or 90s, 15m, 2h, 1d")
      .option("--set-key", "when it is the key this command is logged in with, store the new secret in the login")
      .option("--force", "rotate without --retain even the key this command is logged in with"),
  ).action(
    async (account: string, key: string, options: { retain?: string; setKey?: boolean; force?: boolean; output: Format }) => {
      const retainSeconds = options.retain === undefined ? 0 : parseDuration("--retain", options.retain);
      if (retainSeconds > MAX_RETAIN_SECONDS) throw new UsageError(`--retain must be at most 30 days`);
      const { client, url, source, loginPath } = await connection(io);
      const target = { account, key };
      const current =
        options.setKey === true || (retainSeconds === 0 && options.force !== true) ? await inUse(client, target) : false;
      const storesNewKey = current && options.setKey === true && source === "login";
      if (current && retainSeconds === 0 && options.force !== true && !storesNewKey) {
        refuseLockout(target, "rotating it without --retain ends its secret at once", [
          source === "login"
            ? "add --set-key to store the new secret in your login"
            : "add --retain 15m so that the old secret keeps working until KEYLEDGER_API_KEY holds the new one",
          "add --retain 15m to keep the old secret working for a while",
        ]);
      }
      const rotated = await client.rotateApiKey(account, key, retainSeconds);
      const until =
        rotated.retainedUntil === null
          ? "The old secret no longer works."
          : `The old secret works until ${rotated.retainedUntil}.`;
      // Printed first: should storing it fail, the new secret has been shown all the same.
      printSecret(io, options.output, rotated, url, `Rotated API key ${rotated.name} of ${account}. ${until}`);
      if (storesNewKey) await writeLogin(loginPath, { url, apiKey: rotated.key });
      if (options.setKey === true) {
        io.err(
          storesNewKey
            ? `The new secret is stored in your login (${loginPath}).`
            : current
              ? "--set-key: this command took its key from KEYLEDGER_API_KEY, which keyledger cannot change: set it to the new secret."
              : `--set-key: API key ${key} of ${account} is not the one this command is logged in with; the login is unchanged.`,
        );
      }
    },
  );

  withOutput(
    group
      .command("update")
      .usage("ACCOUNT update KEY [options]")
      .description("change an API key")
      .argument("<account>")
      .argument("<key>")
      .option("--active <bool>", "activate (true, yes) or deactivate (false, no)")
      .option("--name <new>", "a new name")
      .option("-d, --description <text>", "a new description")
      .option("--force", "deactivate even the key this command is logged in with"),
  ).action(
    async (
      account: string,
      key: string,
      options: { active?: string; name?: string; description?: string; force?: boolean; output: Format },
    ) => {
      const active = options.active === undefined ? undefined : parseBoolean("--active", options.active);
      if (options.name !== undefined) checkNameLocally("--name", options.name);
      if (options.description !== undefined) checkDescriptionLocally("--description", options.description);
      if (active === undefined && options.name === undefined && options.description === undefined)
        throw new UsageError("nothing to change: give --active, --name or --description");
      const client = await connectedClient(io);
      if (active === false && options.force !== true && (await inUse(client, { account, key })))
        refuseLockout({ account, key }, "deactivating it", [ANOTHER_KEY]);
      const updated = await client.updateApiKey(account, key, {
        active,
        name: options.name,
        description: options.description,
      });
      emit(io, options.output, updated, () => fields(keyFields(updated)));
    },
  );

  withOutput(
    group
      .command("delete")
      .usage("ACCOUNT delete KEY [-y] [options]")
      .description("delete an API key; it stops working at once")
      .argument("<account>")
      .argument("<key>")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--force", "delete even the key this command is logged in with"),
  ).action(async (account: string, key: string, options: { yes?: boolean; force?: boolean; output: Format }) => {
    const client = await connectedClient(io);
    if (options.force !== true && (await inUse(client, { account, key })))
      refuseLockout({ account, key }, "deleting it", [ANOTHER_KEY]);
    if (!(await confirmed(io, `Delete API key "${key}" of "${account}"?`, options.yes))) {
      throw new CommandFailed("aborted: nothing was deleted");
    }
    await client.deleteApiKey(account, key);
    emit(
      io,
      options.output,
      { deleted: true, serviceAccount: account, apiKey: key },
      () => `Deleted API key ${key} of ${account}.`,
    );
  });
}

function printSecret(io: Io, format: Format, key: ApiKeyWithSecret, url: string, summary: string): void {
  if (format === "json") {
    io.out(JSON.stringify(key, null, 2));
    io.err(SHOWN_ONCE);
    return;
  }
  io.out(summary);
  io.out(secretLines(key, url));
}

/** An ISO-8601 instant with its zone (no guessing at local time), passed on as written. */
function isoInstant(flag: string, value: string): string {
  const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
  if (!shape.test(value) || Number.isNaN(Date.parse(value))) {
    throw new UsageError(
      `${flag} must be an ISO-8601 date-time with a zone, such as 2030-01-31T12:00:00Z, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const MAX_RETAIN_SECONDS = 30 * 86_400;
const MAX_EXPIRY_SECONDS = 100 * 365 * 86_400;

function expiryIn(value: string): string {
  const seconds = parseDuration("--expires-in", value);
  if (seconds === 0 || seconds > MAX_EXPIRY_SECONDS)
    throw new UsageError("--expires-in must be more than 0 and at most 100 years");
  return new Date(Date.now() + seconds * 1000).toISOString();
}
