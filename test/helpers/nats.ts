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

export async function tempDir(prefix = "keyledger-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
