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
