import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Both cores: the suite is mostly waiting on real servers (nats-server, daemons, Chromium).
    maxWorkers: 2,
    setupFiles: ["test/setup/temp-dirs.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
