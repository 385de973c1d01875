import type { Command } from "commander";
import { ConfigError, envName, loadConfig, SETTINGS, type Config } from "../../config.js";
import type { Io } from "../io.js";
import { emit, withOutput, type Format } from "../output.js";
import { count, progressLine } from "../progress.js";
import { CommandFailed, UsageError } from "../usage-error.js";

/** The settings of `serve` that a rebuild needs: where the daemon keeps its data and its stream. */
const REBUILD_FLAGS = ["data-dir", "nats-url", "stream", "signing-key-file", "log-level"] as const;

/** `keyledger projections rebuild`: an offline operation on a stopped daemon's data directory. */
export function addProjectionsCommands(program: Command, io: Io): void {
  const group = program.command("projections").description("maintain the daemon's read model (offline)");
  const rebuild = withOutput(
    group
      .command("rebuild")
      .description("rebuild a stopped daemon's read model from the event stream, as a fresh daemon would build it"),
  );
  for (const setting of SETTINGS.filter((s) => (REBUILD_FLAGS as readonly string[]).includes(s.flag))) {
    const fallback =
      setting.flag === "log-level"
        ? " (default: warn)"
        : setting.fallback === undefined
          ? ""
          : ` (default: ${String(setting.fallback)})`;
    rebuild.option(`--${setting.flag} <value>`, `${setting.description} [${envName(setting.flag)}]${fallback}`);
  }
  rebuild
    .addHelpText(
      "after",
      [
        "",
        "Takes the daemon's own settings (flags or KEYLEDGER_* variables, KEYLEDGER_SIGNING_KEY included).",
        "Stop the daemon first: the command refuses (exit 1) while a daemon holds the read model.",
        "Without --nats-url it starts the embedded nats-server on <data-dir>/nats, as serve does.",
        "Every event's signature is checked against the daemons' registered keys, as the daemon does.",
      ].join("\n"),
    )
    .action(async (options: Record<string, string | undefined> & { output: Format }) => {
      const flags: Record<string, string | undefined> = {};
      for (const flag of REBUILD_FLAGS) flags[flag] = options[camel(flag)];
      // Quiet by default: the daemon's info lines are not a command's output.
      if (flags["log-level"] === undefined && (io.env[envName("log-level")] ?? "") === "") flags["log-level"] = "warn";
      let config: Config;
      try {
        config = loadConfig(flags, io.env);
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(error.message);
        throw error;
      }
      // The daemon's modules load only here, so that client commands start fast.
      const [{ rebuildReadModel, RebuildInterrupted, RebuildRefused }, { createLogger }] = await Promise.all([
        import("../../rebuild.js"),
        import("../../logger.js"),
      ]);
      const progress = progressLine(io);
      const interruption = io.interruptible();
      let result;
      try {
        result = await rebuildReadModel(config, {
          logger: createLogger(config.logLevel, process.stderr),
          signal: interruption.signal,
          onProgress: ({ applied, position, head }) =>
            progress.show(
              `rebuilding: seq ${count(position)} of ${count(head)} (${head === 0 ? 100 : Math.floor((position / head) * 100)}%), ${count(applied)} events applied…`,
            ),
        });
      } catch (error) {
        if (error instanceof RebuildRefused || error instanceof RebuildInterrupted) throw new CommandFailed(error.message);
        throw error;
      } finally {
        progress.clear();
        interruption.release();
      }
      const done = result;
      emit(io, options.output, done, () => {
        const lines = [
          `Rebuilt the read model in ${done.dataDir}: ${count(done.applied)} events applied, up to seq ${count(done.position)}.`,
        ];
        if (done.vouched > 0)
          lines.push(
            `${count(done.vouched)} of them on the word of signed checkpoints (each run confirmed by its digest), ` +
              `${count(done.signaturesChecked)} signatures checked one by one.`,
          );
        if (done.skipped.length > 0) {
          lines.push(
            `${count(done.skipped.length)} stream messages were passed over (as the daemon does; see keyledger audit verify):`,
          );
          for (const { seq, reason } of done.skipped) lines.push(`  seq ${seq}: ${reason}`);
        }
        return lines.join("\n");
      });
    });
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
