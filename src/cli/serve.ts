import { Command } from "commander";
import { ConfigError, envName, loadConfig, SETTINGS } from "../config.js";
import { startDaemon } from "../daemon.js";
import { createLogger } from "../logger.js";
import { NatsServerNotFoundError } from "../nats/index.js";

/** `keyledger serve`: every setting as a flag and a KEYLEDGER_* variable, validated once at start. */
export function serveCommand(): Command {
  const command = new Command("serve").description("run the keyledger daemon");
  for (const setting of SETTINGS) {
    const fallback = setting.fallback === undefined ? "" : ` (default: ${String(setting.fallback)})`;
    command.option(`--${setting.flag} <value>`, `${setting.description} [${envName(setting.flag)}]${fallback}`);
  }
  command.action(async (options: Record<string, string | undefined>) => {
    const flags: Record<string, string | undefined> = {};
    for (const setting of SETTINGS) flags[setting.flag] = options[camel(setting.flag)];
    let config;
    try {
      config = loadConfig(flags);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`keyledger serve: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    const logger = createLogger(config.logLevel);
    let daemon;
    try {
      daemon = await startDaemon(config, { logger });
    } catch (error) {
      if (error instanceof NatsServerNotFoundError) {
        process.stderr.write(`keyledger serve: ${error.message}\n`);
        process.exit(1);
      }
      logger.fatal({ err: error }, "keyledger could not start");
      process.stderr.write(`keyledger serve: could not start: ${(error as Error).message}\n`);
      process.exit(1);
    }
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      daemon
        .stop()
        .then(() => {
          logger.info("stopped");
          process.exit(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  return command;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
