import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { bigWorldRows } from "./big-world.js";
import { markdownTable, textTable, type Row } from "./report.js";
import type { BenchSizes } from "./sizes.js";
import { smallWorldRows } from "./small-world.js";

export interface Environment {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly natsServer: string;
  readonly date: string;
}

export function environment(): Environment {
  const natsServer = execFileSync("nats-server", ["--version"], { encoding: "utf8" }).trim();
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    natsServer,
    date: new Date().toISOString(),
  };
}

/** Every row, in the order of the table: the small history first, then the long one. */
export async function runBenchmarks(sizes: BenchSizes): Promise<Row[]> {
  const small = await smallWorldRows(sizes);
  const bigRows = ["4", "5", "6", "7", "9", "10", "11a", "11b", "11c", "11d", "12"];
  const big = sizes.only === undefined || bigRows.some((id) => sizes.only!.has(id)) ? await bigWorldRows(sizes) : [];
  const order = [
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
  ];
  return [...small, ...big].sort((x, y) => order.indexOf(x.id) - order.indexOf(y.id));
}

export function describeEnvironment(env: Environment): string {
  return `${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; Node ${env.node}; ${env.natsServer}; ${env.date}`;
}

export function printRows(rows: readonly Row[], env: Environment, elapsedMs: number): void {
  process.stdout.write(`\nkeyledger benchmarks — ${describeEnvironment(env)}; ${(elapsedMs / 60_000).toFixed(1)} min\n\n`);
  process.stdout.write(`${textTable(rows)}\n`);
}

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/** Replaces the results block of BENCHMARKS.md (the rest of the file is written by hand). */
export async function writeResults(path: string, rows: readonly Row[], env: Environment, elapsedMs: number): Promise<void> {
  const block = [
    START,
    `Measured by \`npm run bench\` on ${describeEnvironment(env)}; the whole run took ${(elapsedMs / 60_000).toFixed(1)} minutes.`,
    "",
    markdownTable(rows),
    END,
  ].join("\n");
  const current = await readFile(path, "utf8").catch(() => `# Benchmarks\n\n${START}\n${END}\n`);
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  const next =
    from < 0 || to < 0 ? `${current}\n${block}\n` : `${current.slice(0, from)}${block}${current.slice(to + END.length)}`;
  await writeFile(path, next);
}
