import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsServer } from "../../src/nats/index.js";

export interface TestNats {
  readonly url: string;
  readonly storeDir: string;
  stop(): Promise<void>;
}

/**
 * A real `nats-server -js` for one test file: on a free loopback port, storing in a fresh
 * temporary directory that is removed when it stops.
 */
export async function startTestNats(): Promise<TestNats> {
  const storeDir = await mkdtemp(join(tmpdir(), "keyledger-nats-"));
  const server = await startNatsServer({ storeDir });
  return {
    url: server.url,
    storeDir,
    stop: async () => {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

const madeDirs = new Set<string>();

/** A fresh temporary directory, removed by `removeTempDirs` when the test file ends. */
export async function tempDir(prefix = "keyledger-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

/** Removes every directory `tempDir` made in this process (test/setup/temp-dirs.ts calls it). */
export async function removeTempDirs(): Promise<void> {
  const dirs = [...madeDirs];
  madeDirs.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 3 })));
}
