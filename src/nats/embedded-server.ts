import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";

export const INSTALL_HINT = "sudo apt-get install -y nats-server";

export class NatsServerNotFoundError extends Error {
  constructor() {
    super(`nats-server is not installed (or not on PATH); install it with: ${INSTALL_HINT}`);
    this.name = "NatsServerNotFoundError";
  }
}

/** Finds the nats-server program on PATH (Debian installs it in /usr/sbin, which a user's PATH may lack). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  if (dirs.some((dir) => dir === "/usr/bin" || dir === "/bin")) dirs.push("/usr/sbin", "/usr/local/sbin");
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export interface EmbeddedNats {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedNatsOptions {
  /** JetStream's store directory. */
  readonly storeDir: string;
  readonly binary?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
  /** A fixed port (to restart a server where it was); by default the server picks a free one. */
  readonly port?: number;
  /** Clients must present this token (kept in a 0600 config file, not on the command line). */
  readonly token?: string;
}

/**
 * Starts `nats-server -js` as a child process on a free loopback port (the server picks it and
 * writes it to a ports file, so there is no race for the port) and waits until it listens.
 */
export async function startNatsServer(options: EmbeddedNatsOptions): Promise<EmbeddedNats> {
  const binary = options.binary ?? findNatsServer(options.env);
  if (binary === null) throw new NatsServerNotFoundError();
  const portsDir = join(options.storeDir, "run");
  const pidFile = join(options.storeDir, "nats-server.pid");
  await mkdir(options.storeDir, { recursive: true, mode: 0o700 });
  await stopStaleServer(pidFile, options.storeDir);
  await rm(portsDir, { recursive: true, force: true });
  await mkdir(portsDir, { recursive: true });
  const args = [
    "-js",
    "-a",
    "127.0.0.1",
    "-p",
    String(options.port ?? -1),
    "-sd",
    options.storeDir,
    "--ports_file_dir",
    portsDir,
    "-P",
    pidFile,
  ];
  if (options.token !== undefined) {
    const configFile = join(options.storeDir, "nats-server.conf");
    await writeFile(configFile, `authorization {\n  token: ${JSON.stringify(options.token)}\n}\n`, { mode: 0o600 });
    await chmod(configFile, 0o600);
    args.push("-c", configFile);
  }
  const child = spawn(binary, args, {
    // Nothing of the daemon's environment (KEYLEDGER_SIGNING_KEY, say) reaches the server.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group: a Ctrl-C meant for the daemon must not stop the server under it
    // before the daemon has finished its in-flight writes. The daemon stops it last.
    detached: true,
  });
  // If the daemon exits without stopping it (an uncaught error, process.exit), the server goes too.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  process.on("exit", killOnExit);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  let url: string | null = null;
  while (url === null) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`nats-server did not start in time: ${stderr.trim()}`);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 25)), spawnError]);
    url = await readPortsFile(portsDir);
  }
  return {
    url,
    pid: child.pid ?? -1,
    stop: async () => {
      await stopChild(child, exited);
      process.off("exit", killOnExit);
    },
  };
}

async function readPortsFile(dir: string): Promise<string | null> {
  for (const file of await readdir(dir)) {
    if (!file.endsWith(".ports")) continue;
    try {
      const ports = JSON.parse(await readFile(join(dir, file), "utf8")) as { nats?: string[] };
      return ports.nats?.[0] ?? null;
    } catch {
      return null; // written but not complete yet
    }
  }
  return null;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * A server left by a daemon that was killed (SIGKILL leaves no chance to stop it) still holds the
 * store directory: it is stopped before a new one starts there.
 */
async function stopStaleServer(pidFile: string, storeDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, "utf8")).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let commandLine = "";
  try {
    commandLine = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " ");
  } catch {
    return; // not running (or no /proc: nothing we can check safely)
  }
  if (!commandLine.includes("nats-server") || !commandLine.includes(storeDir)) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
