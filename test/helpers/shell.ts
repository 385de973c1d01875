import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomUUID } from "node:crypto";

export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * One bash session, as a person keeps a terminal open: variables set and exported by one line are
 * there for the next. Each line runs with its standard input from /dev/null (unless it redirects
 * its own), so a command that reads stdin cannot swallow the lines after it.
 */
export class Shell {
  private readonly child: ChildProcessWithoutNullStreams;
  private stdout = "";
  private stderr = "";
  private waiting: (() => void) | null = null;

  constructor(options: { env: NodeJS.ProcessEnv; cwd: string }) {
    this.child = spawn("bash", ["--noprofile", "--norc"], { env: options.env, cwd: options.cwd, stdio: "pipe" });
    this.child.stdout.on("data", (chunk: Buffer) => this.take("stdout", chunk));
    this.child.stderr.on("data", (chunk: Buffer) => this.take("stderr", chunk));
  }

  /** Runs one line (a `\`-continued command joined) and answers its exit code and output. */
  async run(line: string, timeoutMs = 60_000): Promise<ShellResult> {
    const marker = `__shell_done_${randomUUID()}__`;
    this.stdout = "";
    this.stderr = "";
    const done = new RegExp(`\\n?${marker} (\\d+)\\n`);
    this.child.stdin.write(`{ ${line}\n} </dev/null\nprintf '\\n${marker} %s\\n' "$?"; printf '\\n${marker}\\n' >&2\n`);
    const deadline = Date.now() + timeoutMs;
    while (!(done.test(this.stdout) && this.stderr.includes(`${marker}\n`))) {
      if (this.child.exitCode !== null) throw new Error(`the shell exited (${this.child.exitCode}) while running: ${line}`);
      if (Date.now() > deadline)
        throw new Error(`no end after ${timeoutMs} ms: ${line}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 200);
      });
    }
    const code = Number(done.exec(this.stdout)![1]);
    return {
      code,
      stdout: this.stdout.replace(done, ""),
      stderr: this.stderr.replace(`\n${marker}\n`, ""),
    };
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill("SIGKILL");
  }

  private take(which: "stdout" | "stderr", chunk: Buffer): void {
    this[which] += chunk.toString("utf8");
    this.waiting?.();
    this.waiting = null;
  }
}
