import { resolve } from "node:path";
import { expect, it } from "vitest";
import { environment, printRows, runBenchmarks, writeResults } from "./harness/run.js";
import { FULL, onlyFromEnvironment } from "./harness/sizes.js";

/** `npm run bench`: every row of BENCHMARKS.md, measured against its baseline in this run. */
it("keyledger against raw baselines", async () => {
  const env = environment();
  const started = performance.now();
  const only = onlyFromEnvironment();
  const rows = await runBenchmarks({ ...FULL, only });
  const elapsed = performance.now() - started;
  printRows(rows, env, elapsed);
  // A partial run (KEYLEDGER_BENCH_ONLY) prints its rows but leaves BENCHMARKS.md as it is.
  if (only === undefined) await writeResults(resolve(import.meta.dirname, "../BENCHMARKS.md"), rows, env, elapsed);
  expect(rows.length).toBeGreaterThan(0);
}, 1_800_000);
