import { createInterface } from "node:readline";
import { Writable } from "node:stream";

/** What a command touches of the outside world, so that tests can run the program as a subprocess. */
export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdinIsTTY: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Asks on the terminal (stderr), hiding the answer when `silent`; end of input (Ctrl-D) answers "". */
  ask(prompt: string, silent: boolean): Promise<string>;
  readStdin(): Promise<string>;
}

export function processIo(): Io {
  return {
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    ask,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.from(Buffer.concat(chunks)).toString("utf8");
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
