import { once } from "node:events";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";

/** What a command touches of the outside world, so that tests can run the program as a subprocess. */
export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  /** Progress is shown only on a terminal: a pipe or a file gets none. */
  readonly stderrIsTTY: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Writes to stderr as is, without a newline: a progress line rewritten in place. */
  status(text: string): void;
  /** Resolves once stdout has taken what was written (a slow pipe holds a long listing back). */
  drain(): Promise<void>;
  /** Writes bytes to stdout as they are (an evidence bundle to `-o -`); resolves once stdout can take more. */
  writeOut(bytes: Uint8Array): Promise<void>;
  /**
   * A signal that aborts at the first SIGINT or SIGTERM, for a command that runs until stopped
   * (`events --follow`) and then ends with exit code 0; a second signal exits at once (code 1).
   */
  interruptible(): { readonly signal: AbortSignal; release(): void };
  /** Asks on the terminal (stderr), hiding the answer when `silent`; end of input (Ctrl-D) answers "". */
  ask(prompt: string, silent: boolean): Promise<string>;
  readStdin(): Promise<string>;
  /** The first line of stdin, without waiting for the rest; null at end of input. */
  readLine(): Promise<string | null>;
}

export function processIo(): Io {
  // A reader that went away (`keyledger events --follow | head`) ends the command quietly.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  return {
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    status: (text) => process.stderr.write(text),
    drain: async () => {
      if (process.stdout.writableNeedDrain) await once(process.stdout, "drain");
    },
    writeOut: async (bytes) => {
      if (!process.stdout.write(bytes)) await once(process.stdout, "drain");
    },
    interruptible,
    ask,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.from(Buffer.concat(chunks)).toString("utf8");
    },
    readLine,
  };
}

function readLine(): Promise<string | null> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  return new Promise((resolve) => {
    let line: string | null = null;
    rl.once("line", (first) => {
      line = first;
      rl.close();
    });
    rl.once("close", () => resolve(line));
  });
}

function interruptible(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(1);
    controller.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** A line from the terminal; what is typed is not echoed when `silent`. Ctrl-C aborts. */
function ask(prompt: string, silent: boolean): Promise<string> {
  process.stderr.write(prompt);
  // readline echoes through its output: while silent, that output swallows everything.
  const echo = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!silent) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output: echo, terminal: true });
  return new Promise((resolve, reject) => {
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      if (silent) process.stderr.write("\n");
      resolve(line);
    });
    rl.once("SIGINT", () => {
      answered = true;
      rl.close();
      process.stderr.write("\n");
      reject(new Error("canceled"));
    });
    rl.once("close", () => {
      if (!answered) {
        process.stderr.write("\n");
        resolve("");
      }
    });
  });
}
