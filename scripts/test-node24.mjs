#!/usr/bin/env node
/**
 * Runs the end-to-end tests under Node 24 LTS, whatever Node runs this script: `npx -p node@24`
 * fetches the npm registry's node@24 package (it ships the binary) and puts its `node` first on the
 * PATH, so the test runner, the daemons, the CLIs and the SDK clients the tests start all run on it.
 * `test/e2e/node-version.test.ts` checks that they did.
 */
import { spawnSync } from "node:child_process";

const args = ["-y", "-p", "node@24", "--", "node", "node_modules/vitest/vitest.mjs", "run", "test/e2e", ...process.argv.slice(2)];
const result = spawnSync("npx", args, {
  stdio: "inherit",
  env: { ...process.env, KEYLEDGER_EXPECT_NODE_MAJOR: "24" },
});
if (result.error !== undefined) {
  console.error(`test:node24: could not run npx (${result.error.message})`);
  process.exit(1);
}
process.exit(result.status ?? 1);
