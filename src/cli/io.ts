import { read } from "read";

/** What a command touches of the outside world, so that tests can run the program as a subprocess. */
export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdinIsTTY: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Asks on the terminal (stderr), hiding the answer when `silent`. */
  ask(prompt: string, silent: boolean): Promise<string>;
  readStdin(): Promise<string>;
}

export function processIo(): Io {
  return {
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    ask: async (prompt, silent) =>
      String(await read({ prompt, silent, replace: silent ? "" : undefined, output: process.stderr })),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}
