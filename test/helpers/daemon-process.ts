import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterAll } from "vitest";
import { waitUntil } from "./http.js";

export interface DaemonProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves once GET /readyz answers 200. */
  readonly ready: Promise<void>;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** The pid of the embedded nats-server it logged, or NaN. */
  natsPid(): number;
}

const started: DaemonProcess[] = [];

/**
 * Whatever a test did, leave no daemon or nats-server behind: each daemon leads its own process
 * group, and its embedded nats-server has a group of its own.
 */
afterAll(() => {
  for (const daemon of started.splice(0)) {
    for (const pid of [-daemon.child.pid!, daemon.natsPid()]) {
      try {
        if (Number.isFinite(pid)) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
});

/** Starts a daemon as a real process (`command args`) and watches its /readyz on `port`. */
export function spawnDaemon(
  command: string,
  args: readonly string[],
  port: number,
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): DaemonProcess {
  const child = spawn(command, [...args], {
    env: options.env,
    cwd: options.cwd,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  child.stdin.end();
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // Ready, or a failure that says why: the process exited, or it never answered (its output attached).
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  const ready = waitUntil(
    async () => {
      if (exitedEarly) return true;
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    90_000,
    100,
  ).then(
    () => {
      if (exitedEarly) throw new Error(`the daemon exited before it was ready; it printed:\n${output.slice(-4000)}`);
    },
    (error: Error) => {
      throw new Error(`${error.message}: /readyz never answered 200; the daemon printed:\n${output.slice(-4000)}`);
    },
  );
  // A test that expects the process to refuse to start may never await `ready`.
  ready.catch(() => undefined);
  const daemon: DaemonProcess = {
    child,
    exited,
    ready,
    output: () => output,
    natsPid: () => Number(/"pid":(\d+),"msg":"embedded nats-server started"/.exec(output)?.[1]),
  };
  started.push(daemon);
  return daemon;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
