import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig, type Config } from "../../src/config.js";
import { startDaemon, type Daemon } from "../../src/daemon.js";
import { createLogger } from "../../src/logger.js";
import type { Signer } from "../../src/signing/index.js";
import { tempDir } from "./nats.js";

export interface TestDaemon extends Daemon {
  readonly dataDir: string;
  readonly config: Config;
  /** Every log line the daemon wrote, as text. */
  readonly logs: string[];
  adminKey(): Promise<string>;
}

/** A real daemon in this process: real HTTP on a free port, real NATS, real LevelDB in a temp dir. */
export async function startTestDaemon(
  natsUrl: string,
  settings: Record<string, string> = {},
  options: { dataDir?: string; clock?: () => Date; signer?: Signer; env?: NodeJS.ProcessEnv } = {},
): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? (await tempDir("keyledger-data-"));
  const config = loadConfig(
    { port: "0", "data-dir": dataDir, "nats-url": natsUrl, "log-level": "info", "scheduler-interval-ms": "200", ...settings },
    options.env ?? {},
  );
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString("utf8"));
      callback();
    },
  });
  const daemon = await startDaemon(config, {
    logger: createLogger(config.logLevel, sink),
    clock: options.clock,
    signer: options.signer,
  });
  return Object.assign(daemon, {
    dataDir,
    config,
    logs,
    adminKey: async () => (await readFile(join(dataDir, "admin.key"), "utf8")).trim(),
  });
}

/** One daemon on one data directory, restarted at will (the previous one is stopped first). */
export function restartable(natsUrl: string, dataDir: string) {
  let current: TestDaemon | undefined;
  return {
    get current(): TestDaemon | undefined {
      return current;
    },
    async restart(): Promise<TestDaemon> {
      await current?.stop();
      current = await startTestDaemon(natsUrl, {}, { dataDir });
      return current;
    },
    async stop(): Promise<void> {
      await current?.stop();
      current = undefined;
    },
  };
}
