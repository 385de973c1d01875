import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { waitUntil } from "../../test/helpers/http.js";
import { freePort } from "../../test/helpers/ports.js";
import { tempDir } from "../../test/helpers/nats.js";
import { CLI, runCommand, startDaemonProcess, type RunningDaemon } from "./processes.js";
import { median, type Row } from "./report.js";
import type { BenchSizes } from "./sizes.js";

const ROOT = resolve(import.meta.dirname, "../..");
const ms = (values: readonly number[]) => values.map(Math.round).join(", ");

/**
 * Row C1: a client command, `keyledger service-account list` through `node dist/cli/main.js` with
 * KEYLEDGER_URL and KEYLEDGER_API_KEY, from spawn to exit, against Node starting and exiting at once.
 */
export async function cliCommandRow(daemon: RunningDaemon, sizes: BenchSizes): Promise<Row> {
  const env = {
    PATH: process.env.PATH,
    HOME: await tempDir("keyledger-bench-home-"),
    KEYLEDGER_URL: daemon.url,
    KEYLEDGER_API_KEY: await daemon.adminKey(),
  };
  const ours: number[] = [];
  const bare: number[] = [];
  for (let run = 0; run < sizes.cliRuns; run++) {
    const command = await runCommand([CLI, "service-account", "list", "-o", "json"], env);
    if (command.code !== 0) throw new Error(`keyledger service-account list failed (${command.code}):\n${command.output}`);
    ours.push(command.ms);
    bare.push((await runCommand(["-e", "0"], env)).ms);
  }
  return timeRow(
    { id: "C1", name: "a client command: keyledger service-account list (node dist/cli/main.js, spawn to exit)", limitMs: 250 },
    ours,
    { name: "node -e 0: Node starting and exiting", runs: bare },
  );
}

/**
 * Row C2: `npm start` on a warm data directory with nothing changed since the last build, from spawn
 * to the first 200 on /readyz, against the daemon started directly (`node dist/cli/main.js serve`).
 */
export async function npmStartRow(natsUrl: string, sizes: BenchSizes): Promise<Row> {
  const dataDir = await tempDir("keyledger-bench-start-");
  // A first start makes the data directory (key, admin, read model): the runs below find it warm.
  await (await startDaemonProcess(natsUrl, dataDir)).stop();
  const ours: number[] = [];
  const direct: number[] = [];
  for (let run = 0; run < sizes.startRuns; run++) {
    ours.push(await startedAfter(["npm", "start", "--silent", "--"], natsUrl, dataDir));
    direct.push(await startedAfter([process.execPath, CLI, "serve"], natsUrl, dataDir));
  }
  return timeRow(
    { id: "C2", name: "npm start to /readyz, warm data directory, nothing changed since the last build", limitMs: 2000 },
    ours,
    { name: "node dist/cli/main.js serve, the same", runs: direct },
  );
}

/** A row of times (medians of the runs, lower is better) with an absolute limit on ours. */
function timeRow(
  row: { id: string; name: string; limitMs: number },
  ours: readonly number[],
  baseline: { name: string; runs: readonly number[] },
): Row {
  const value = median(ours);
  return {
    id: row.id,
    name: row.name,
    ours: { value, unit: "ms", detail: `runs ${ms(ours)}` },
    baselineName: baseline.name,
    baseline: { value: median(baseline.runs), unit: "ms", detail: `runs ${ms(baseline.runs)}` },
    ratio: value / median(baseline.runs),
    target: { text: `≤ ${row.limitMs.toLocaleString("en-US")} ms`, met: value <= row.limitMs },
    note: "a time ratio: lower is better",
  };
}

/** Spawns a daemon with `command`, waits for /readyz, stops it (the whole process group); the time to ready. */
async function startedAfter(command: readonly string[], natsUrl: string, dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(command[0]!, [...command.slice(1), "--port", String(port), "--data-dir", dataDir, "--nats-url", natsUrl], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: dataDir },
    stdio: "ignore",
    detached: true,
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  try {
    await waitUntil(
      () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (answer) => answer.status === 200,
          () => false,
        ),
      60_000,
      10,
    );
    return performance.now() - started;
  } finally {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone (a start that failed): the error above says why
    }
    await exited;
  }
}
