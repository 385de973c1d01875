import type { Command } from "commander";
import { ConfigError, envName, loadConfig, logFormatFor, SETTINGS, type Config } from "../config.js";
import { UsageError } from "./usage-error.js";

/**
 * `keyledger serve`: every setting as a flag and a KEYLEDGER_* variable, validated once at start.
 * Once the daemon runs, SIGTERM and SIGINT stop it in reverse order of start.
 */
export function addServeCommand(program: Command, onRunning: () => void): void {
  const command = program.command("serve").description("run the keyledger daemon");
  for (const setting of SETTINGS) {
    const fallback = setting.fallback === undefined ? "" : ` (default: ${String(setting.fallback)})`;
    command.option(`--${setting.flag} <value>`, `${setting.description} [${envName(setting.flag)}]${fallback}`);
  }
  command.action(async (options: Record<string, string | undefined>) => {
    const flags: Record<string, string | undefined> = {};
    for (const setting of SETTINGS) flags[setting.flag] = options[camel(setting.flag)];
    let config: Config;
    try {
      config = loadConfig(flags);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    // The daemon's modules load only here, so that client commands start fast.
    const [{ startDaemon }, { createLogger, daemonOutput }] = await Promise.all([import("../daemon.js"), import("../logger.js")]);
    // Whatever the daemon and its embedded nats-server create (read model, keys, NATS store) is private.
    process.umask(0o077);
    // Readable lines for a person running the daemon on a terminal; JSON for a service, unless set.
    const logger = createLogger(config.logLevel, daemonOutput(logFormatFor(config, process.stdout.isTTY === true)));
    // Signals are handled from the start: one stops the daemon gracefully (once it is up), a second
    // one exits at once (the embedded nats-server is stopped on exit either way).
    let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
    let stopping = false;
    const stop = (): void => {
      daemon!.stop().then(
        () => {
          logger.info("stopped");
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "shutting down");
      if (daemon !== undefined) stop();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    daemon = await startDaemon(config, { logger });
    onRunning();
    if (stopping) stop();
  });
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
