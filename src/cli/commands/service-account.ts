import type { Command } from "commander";
import type { PointInTime, Role, ServiceAccount } from "../../client/http.js";
import { parseAsOf } from "../arguments.js";
import { connectedClient, connection } from "../connect.js";
import { checkDescriptionLocally, checkNameLocally, checkRolesLocally } from "../local-checks.js";
import { ANOTHER_KEY, inUse, refuseLockout } from "../lockout.js";
import { parseBoolean } from "../duration.js";
import { accountFields, accountTable, fields, keyTable, keyTableAsOf, secretLines, SHOWN_ONCE } from "../format.js";
import type { Io } from "../io.js";
import { emit, withOutput, type Format } from "../output.js";
import { CommandFailed, UsageError } from "../usage-error.js";
import { confirmed } from "./confirm.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const AS_OF_HELP = "as it was at this point in history: an ISO-8601 time with its zone, or a stream sequence";

function asOfLine(point: PointInTime | undefined): string {
  return point === undefined ? "" : `As of seq ${point.seq} (${point.at}):\n`;
}

export function addServiceAccountCommands(program: Command, io: Io): Command {
  const group = program.command("service-account").alias("sa").description("manage service accounts");

  withOutput(
    group
      .command("create")
      .description("create a service account, with an API key named default unless --no-api-key")
      .argument("<name>")
      .option("-d, --description <text>", "what the account is for")
      .option("--role <role>", "a role (admin, auditor, verifier); repeat for several", collect, [])
      .option("--no-api-key", "create no API key"),
  ).action(async (name: string, options: { description?: string; role: string[]; apiKey: boolean; output: Format }) => {
    checkNameLocally("NAME", name);
    if (options.description !== undefined) checkDescriptionLocally("--description", options.description);
    checkRolesLocally(options.role);
    const { client, url } = await connection(io);
    const created = await client.createServiceAccount({
      name,
      description: options.description,
      roles: options.role as Role[],
      createApiKey: options.apiKey,
    });
    if (options.output === "json") {
      io.out(JSON.stringify(created, null, 2));
      if (created.apiKey !== undefined) io.err(SHOWN_ONCE);
      return;
    }
    io.out(`Created service account ${created.serviceAccount.name} (${created.serviceAccount.id}).`);
    if (created.apiKey !== undefined) io.out(secretLines(created.apiKey, url));
  });

  withOutput(
    group
      .command("list")
      .description("list service accounts")
      .option("--active <bool>", "only active (true) or inactive (false) accounts")
      .option("--name <text>", "only accounts whose name contains this")
      .option("--as-of <time|seq>", AS_OF_HELP),
  ).action(async (options: { active?: string; name?: string; asOf?: string; output: Format }) => {
    const active = options.active === undefined ? undefined : parseBoolean("--active", options.active);
    const asOf = options.asOf === undefined ? undefined : parseAsOf("--as-of", options.asOf);
    const client = await connectedClient(io);
    if (asOf === undefined) {
      const items = await client.allServiceAccounts({ active, name: options.name });
      emit(io, options.output, { items }, () => (items.length === 0 ? "No service accounts." : accountTable(items)));
      return;
    }
    // Page by page at one point: a time resolves to the same sequence on every page.
    const items: ServiceAccount[] = [];
    let point: PointInTime | undefined;
    let cursor: string | undefined;
    do {
      const page = await client.listServiceAccounts({ active, name: options.name, limit: 500, cursor, asOf });
      items.push(...page.items);
      point ??= page.asOf;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    emit(io, options.output, { items, asOf: point }, () =>
      [asOfLine(point), items.length === 0 ? "No service accounts." : accountTable(items)].join("\n"),
    );
  });

  withOutput(
    group
      .command("describe")
      .description("show a service account and its API keys")
      .argument("<name>")
      .option("--as-of <time|seq>", `${AS_OF_HELP}, with each key's status then`),
  ).action(async (name: string, options: { asOf?: string; output: Format }) => {
    const client = await connectedClient(io);
    if (options.asOf !== undefined) {
      const account = await client.getServiceAccount(name, { asOf: parseAsOf("--as-of", options.asOf) });
      emit(io, options.output, account, () =>
        [
          asOfLine(account.asOf),
          fields(accountFields(account)),
          "",
          account.apiKeys.length === 0 ? "No API keys." : keyTableAsOf(account.apiKeys),
        ].join("\n"),
      );
      return;
    }
    const account = await client.getServiceAccount(name);
    emit(io, options.output, account, () =>
      [fields(accountFields(account)), "", account.apiKeys.length === 0 ? "No API keys." : keyTable(account.apiKeys)].join("\n"),
    );
  });

  withOutput(
    group
      .command("update")
      .description("change a service account")
      .argument("<name>")
      .option("--name <new>", "a new name")
      .option("-d, --description <text>", "a new description")
      .option("--active <bool>", "activate (true, yes) or deactivate (false, no)")
      .option("--role <role>", "the roles it should have; repeat for several", collect, [])
      .option("--force", "deactivate, or take admin from, even the account this command is logged in with"),
  ).action(
    async (
      name: string,
      options: { name?: string; description?: string; active?: string; role: string[]; force?: boolean; output: Format },
    ) => {
      const active = options.active === undefined ? undefined : parseBoolean("--active", options.active);
      if (options.name !== undefined) checkNameLocally("--name", options.name);
      if (options.description !== undefined) checkDescriptionLocally("--description", options.description);
      checkRolesLocally(options.role);
      if (active === undefined && options.name === undefined && options.description === undefined && options.role.length === 0)
        throw new UsageError("nothing to change: give --name, --description, --active or --role");
      const client = await connectedClient(io);
      const dropsAdmin = options.role.length > 0 && !options.role.includes("admin");
      if ((active === false || dropsAdmin) && options.force !== true && (await inUse(client, { account: name }))) {
        refuseLockout({ account: name }, active === false ? "deactivating it" : "taking its admin role away", [ANOTHER_KEY]);
      }
      const updated = await client.updateServiceAccount(name, {
        name: options.name,
        description: options.description,
        active,
        roles: options.role.length === 0 ? undefined : (options.role as Role[]),
      });
      emit(io, options.output, updated, () => fields(accountFields(updated)));
    },
  );

  withOutput(
    group
      .command("delete")
      .description("delete a service account; its keys stop working at once")
      .argument("<name>")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--force", "delete even the account this command is logged in with"),
  ).action(async (name: string, options: { yes?: boolean; force?: boolean; output: Format }) => {
    const client = await connectedClient(io);
    if (options.force !== true && (await inUse(client, { account: name })))
      refuseLockout({ account: name }, "deleting it", [ANOTHER_KEY]);
    if (!(await confirmed(io, `Delete service account "${name}" and all its API keys?`, options.yes))) {
      throw new CommandFailed("aborted: nothing was deleted");
    }
    await client.deleteServiceAccount(name);
    emit(io, options.output, { deleted: true, serviceAccount: name }, () => `Deleted service account ${name}.`);
  });

  return group;
}
