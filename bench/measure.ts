/** Runs `op` repeatedly for about `ms` milliseconds (after a warm-up) and answers operations per second. */
export async function opsPerSecond(op: () => unknown, ms = 1000): Promise<number> {
  const warmUntil = performance.now() + ms / 5;
  while (performance.now() < warmUntil) await op();
  let count = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    await op();
    count++;
  }
  return (count * 1000) / (performance.now() - start);
}

export interface Row {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly baseline: string;
  readonly baselineOpsPerSecond: number;
}

export function printTable(title: string, rows: readonly Row[]): void {
  const lines = rows.map((row) => {
    const ratio = row.opsPerSecond / row.baselineOpsPerSecond;
    return `  ${row.name.padEnd(44)} ${Math.round(row.opsPerSecond).toString().padStart(9)}/s   ${ratio.toFixed(3).padStart(8)} × ${row.baseline} (${Math.round(row.baselineOpsPerSecond)}/s)`;
  });
  process.stdout.write(`\n${title}\n${lines.join("\n")}\n`);
}
