import { describe, expect, it } from "vitest";
import { runBenchmarks } from "../../bench/harness/run.js";
import { markdownTable, textTable } from "../../bench/harness/report.js";
import { SMOKE } from "../../bench/harness/sizes.js";

/**
 * The benchmark harness on tiny sizes, so that it cannot rot: every row is produced, with finite
 * figures from a real run. No figure is judged here; targets belong to `npm run bench`.
 */
describe("the benchmark harness (smoke run on tiny sizes)", () => {
  it("measures every row against its baseline and prints the table", async () => {
    const rows = await runBenchmarks(SMOKE);
    process.stdout.write(`${textTable(rows)}\n`);
    expect(rows.map((row) => row.id)).toEqual([
      "1",
      "1b",
      "2",
      "2b",
      "3a1",
      "3a32",
      "3b1",
      "3b32",
      "4",
      "5",
      "6",
      "7",
      "8",
      "9",
      "10",
      "11a",
      "11b",
      "11c",
      "11d",
      "12",
      "E1",
      "E2",
      "E3",
      "E4",
      "C1",
      "C2",
    ]);
    for (const row of rows) {
      expect(Number.isFinite(row.ours.value) && row.ours.value > 0, `${row.id} ${row.name}`).toBe(true);
      if (row.baseline !== null) {
        expect(Number.isFinite(row.baseline.value) && row.baseline.value > 0, `${row.id} baseline`).toBe(true);
        // Rates: ours ÷ baseline; 2b compares times, known ÷ unknown (1: the same).
        expect(row.ratio).toBeCloseTo(
          row.id === "2b" ? row.baseline.value / row.ours.value : row.ours.value / row.baseline.value,
        );
      }
    }
    const text = textTable(rows);
    const markdown = markdownTable(rows);
    for (const row of rows) {
      expect(text).toContain(row.name);
      expect(markdown).toContain(row.id);
    }
  }, 240_000);
});
