import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { waitUntil } from "../../test/helpers/http.js";
import { freePort } from "../../test/helpers/ports.js";

export const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

export interface RunningDaemon {
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn to the first 200 on /readyz. */
  readonly readyAfterMs: number;
  adminKey(): Promise<string>;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMiB(): Promise<number>;
  /** The end of its log. */
  logTail(): Promise<string>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts `keyledger serve` from the build as its own process, on a free port, against `natsUrl`,
 * with the daemon's defaults (log level info: one access line per request) and its log in a file,
 * as a service manager would run it.
 */
export async function startDaemonProcess(
  natsUrl: string,
  dataDir: string,
  flags: Record<string, string> = {},
  /** The build to run: this one's, or another (an earlier build, to compare the two in one run). */
  cli: string = CLI,
): Promise<RunningDaemon> {
  const port = await freePort();
  // KEYLEDGER_BENCH_CPU_PROF_DIR=<dir>: each daemon writes a V8 CPU profile there when it stops.
  const profileDir = process.env.KEYLEDGER_BENCH_CPU_PROF_DIR;
  const profile = profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const args = [...profile, cli, "serve", "--port", String(port), "--data-dir", dataDir, "--nats-url", natsUrl];
  for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, value);
  const logPath = join(dataDir, "daemon.log");
  const log = openSync(logPath, "a");
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: dataDir }, stdio: ["ignore", log, log] });
  closeSync(log);
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  const logTail = async () => (await readFile(logPath, "utf8")).slice(-4000);
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  await waitUntil(
    async () => {
      if (gone) throw new Error(`the daemon exited before it was ready:\n${await logTail()}`);
      return fetch(`${url}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
    },
    600_000,
    10,
  );
  const readyAfterMs = performance.now() - started;
  const pid = child.pid!;
  return {
    url,
    pid,
    readyAfterMs,
    adminKey: async () => (await readFile(join(dataDir, "admin.key"), "utf8")).trim(),
    peakRssMiB: () => peakRssMiB(pid),
    logTail,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kib / 1024;
}

/** Runs a command to its end; answers its exit code, output and the milliseconds it took. */
export function runCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; ms: number; peakRssMiB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let peak = 0;
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  // /proc/<pid>/status goes with the process: read its high-water mark while it runs.
  const sampler = setInterval(() => {
    peakRssMiB(child.pid!).then(
      (value) => (peak = Number.isFinite(value) ? Math.max(peak, value) : peak),
      () => undefined,
    );
  }, 250);
  return new Promise((done) =>
    child.once("exit", (code) => {
      clearInterval(sampler);
      done({ code, output, ms: performance.now() - started, peakRssMiB: peak });
    }),
  );
}
