#!/usr/bin/env node
import { processIo } from "./io.js";
import { run } from "./program.js";

const { exitCode, serving } = await run(process.argv.slice(2), processIo());
// A client command ends once its output has drained (a pipe takes 64 KiB at a time: exiting at
// once would cut it off); a running daemon keeps the process until a signal stops it.
if (!serving) {
  process.exitCode = exitCode;
  let pending = 2;
  const done = (): void => {
    pending -= 1;
    if (pending === 0) process.exit(exitCode);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}
