import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["bench/**/*.bench-run.ts"],
    // The daemons' and servers' temporary directories go when the run ends, as in the tests.
    setupFiles: ["test/setup/temp-dirs.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
