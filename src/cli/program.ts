import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
// No NATS client here: the daemon and the rebuild load it when they start (a missing nats-server
// is reported by its message, as any other error below).
import { KeyledgerApiError, KeyledgerConnectionError } from "../client/http.js";
import { addApiKeyCommands, API_KEY_VERBS } from "./commands/api-key.js";
import { addAuditCommands } from "./commands/audit.js";
import { addAuthCommands } from "./commands/auth.js";
import { addEventsCommand } from "./commands/events.js";
import { addProjectionsCommands } from "./commands/projections.js";
import { addServiceAccountCommands } from "./commands/service-account.js";
import { addSigningKeyCommands } from "./commands/signing-keys.js";
import type { Io } from "./io.js";
import { addServeCommand } from "./serve.js";
import { CommandFailed, UsageError } from "./usage-error.js";

export interface RunResult {
  /** 0 success, 1 a failed request, 2 a usage error. */
  readonly exitCode: number;
  /** True when `serve` started a daemon: the process must stay up. */
  readonly serving: boolean;
}

export function buildProgram(io: Io, onServing: () => void): Command {
  const program = new Command("keyledger")
    .description("service accounts and API keys for machine-to-machine authentication")
    .version(packageVersion(), "-V, --version")
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .exitOverride()
    .showSuggestionAfterError();
  addServeCommand(program, onServing);
  addAuthCommands(program, io);
  addApiKeyCommands(addServiceAccountCommands(program, io), io);
  addEventsCommand(program, io);
  addAuditCommands(program, io);
  addSigningKeyCommands(program, io);
  addProjectionsCommands(program, io);
  return program;
}

/**
 * The contract reads `service-account api-key ACCOUNT <verb> …`; commander wants the verb first,
 * so the account moves behind the verb.
 */
export function normalizeArgs(args: readonly string[]): string[] {
  const out = kidAfterDoubleDash([...args]);
  const at = out.findIndex((arg, i) => (arg === "service-account" || arg === "sa") && out[i + 1] === "api-key");
  if (at === -1) return out;
  const account = out[at + 2];
  const verb = out[at + 3];
  if (account === undefined || account.startsWith("-")) return out; // `api-key --help`
  const isVerb = (value: string | undefined) => (API_KEY_VERBS as readonly string[]).includes(value ?? "");
  // The account always comes first, even one named like a verb ("list", "delete").
  if (!isVerb(verb)) {
    if (verb === undefined || verb.startsWith("-"))
      throw new UsageError(`api-key ${account} needs a verb: ${API_KEY_VERBS.join(", ")}`);
    throw new UsageError(`unknown api-key verb ${JSON.stringify(verb)}: use ${API_KEY_VERBS.join(", ")}`);
  }
  out[at + 2] = verb!;
  out[at + 3] = account;
  return out;
}

/** A signing key id: 16 characters of base64url, one in 64 of them beginning with `-`. */
const DASHED_KID = /^-[A-Za-z0-9_-]{15}$/;

/**
 * `signing-keys approve|revoke KID` with a key id that begins with `-`: commander would read it as
 * options (`-V…` as --version, `-o…` as --output), so it is passed last, after `--`.
 */
function kidAfterDoubleDash(out: string[]): string[] {
  const at = out.findIndex((arg, i) => arg === "signing-keys" && (out[i + 1] === "approve" || out[i + 1] === "revoke"));
  const kid = at === -1 ? undefined : out[at + 2];
  if (kid === undefined || !DASHED_KID.test(kid) || out.includes("--")) return out;
  return [...out.slice(0, at + 2), ...out.slice(at + 3), "--", kid];
}

/** Runs the program on `args` (without node and the script) and answers the exit code; never throws. */
export async function run(args: readonly string[], io: Io): Promise<RunResult> {
  let serving = false;
  const program = buildProgram(io, () => {
    serving = true;
  });
  try {
    await program.parseAsync(normalizeArgs(args), { from: "user" });
    return { exitCode: 0, serving };
  } catch (error) {
    return { exitCode: report(error, io), serving: false };
  }
}

function report(error: unknown, io: Io): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander already printed why
  if (error instanceof UsageError) {
    io.err(`keyledger: ${error.message}`);
    return 2;
  }
  if (error instanceof KeyledgerApiError) {
    io.err(
      `keyledger: ${error.message} (${error.code}, HTTP ${error.status}${error.requestId === null ? "" : `, request ${error.requestId}`})`,
    );
    const hint = apiErrorHint(error);
    if (hint !== null) io.err(hint);
    return 1;
  }
  if (error instanceof KeyledgerConnectionError || error instanceof CommandFailed) {
    io.err(`keyledger: ${error.message}`);
    return 1;
  }
  io.err(`keyledger: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

/** What a person can do about a refusal the daemon's message alone does not explain. */
function apiErrorHint(error: KeyledgerApiError): string | null {
  if (error.status === 401)
    return [
      "The daemon refused the API key this command used. The daemon does not say why; it may have been",
      "deactivated (the key or its account), deleted, expired, or rotated without its old secret being kept.",
      "With a working admin key, look at it (`keyledger service-account api-key ACCOUNT describe KEY`), then",
      "log in again with a key that works: `keyledger login URL --api-key`, or set KEYLEDGER_API_KEY.",
    ].join("\n");
  if (error.status === 429 || error.status === 503) {
    const wait = error.retryAfterSeconds;
    return wait === null ? "Try again in a moment." : `Try again in ${wait} second${wait === 1 ? "" : "s"}.`;
  }
  return null;
}

function packageVersion(): string {
  // src/cli and dist/cli both sit two levels below package.json.
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}
