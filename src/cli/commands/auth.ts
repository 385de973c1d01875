import type { Command } from "commander";
import { KeyledgerClient } from "../../client/http.js";
import { checkCredentialText, connectedClient, normalizeUrl } from "../connect.js";
import { fields } from "../format.js";
import type { Io } from "../io.js";
import { nodeFetch } from "../node-fetch.js";
import { configPath, removeLogin, writeLogin } from "../login-store.js";
import { emit, withOutput, type Format } from "../output.js";
import { UsageError } from "../usage-error.js";

export function addAuthCommands(program: Command, io: Io): void {
  withOutput(
    program
      .command("login")
      .description("store the URL of a keyledger daemon and an API key, after checking them with whoami")
      .argument("<url>", "the daemon's URL, such as http://127.0.0.1:8080")
      .option("--api-key", "read the API key from a hidden prompt (or from stdin when it is not a terminal)")
      // A key typed after --api-key is caught below, with a sentence, rather than by commander.
      .allowExcessArguments(true),
  ).action(async (written: string, options: { apiKey?: boolean; output: Format }, command: Command) => {
    if (command.args.length > 1)
      throw new UsageError(
        "login takes the API key from a hidden prompt, or from stdin, never from the command line (shell history and the process list would keep it): run `keyledger login URL --api-key` and paste it, or `keyledger login URL --api-key < key-file`",
      );
    if (options.apiKey !== true)
      throw new UsageError("login needs --api-key: the key is then read from a hidden prompt or stdin");
    checkUrl(written);
    const url = normalizeUrl(written);
    const key = (io.stdinIsTTY ? await io.ask("API key: ", true) : await io.readStdin()).trim();
    if (key === "") throw new UsageError("no API key was given");
    checkCredentialText(key, "the API key");
    const who = await new KeyledgerClient({ url, credential: key, fetch: nodeFetch }).whoami();
    const path = configPath(io.env);
    await writeLogin(path, { url, apiKey: key });
    emit(
      io,
      options.output,
      { url, serviceAccount: who.serviceAccount, apiKey: who.apiKey, configFile: path },
      () => `Logged in to ${url} as ${who.serviceAccount.name} (API key ${who.apiKey.name}); saved in ${path}.`,
    );
  });

  withOutput(program.command("logout").description("forget the stored URL and API key")).action(
    async (options: { output: Format }) => {
      const removed = await removeLogin(configPath(io.env));
      emit(io, options.output, { loggedOut: removed }, () => (removed ? "Logged out." : "Not logged in."));
    },
  );

  withOutput(program.command("whoami").description("show the service account and API key in use")).action(
    async (options: { output: Format }) => {
      const who = await (await connectedClient(io)).whoami();
      emit(io, options.output, who, () =>
        fields([
          ["Service account", `${who.serviceAccount.name} (${who.serviceAccount.id})`],
          ["Roles", who.serviceAccount.roles.join(", ") || "-"],
          ["API key", `${who.apiKey.name} (${who.apiKey.id})`],
          ["Credential", who.credential],
        ]),
      );
    },
  );
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`<url> must be an http or https URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`<url> must be an http or https URL, got ${JSON.stringify(url)}`);
  }
}
