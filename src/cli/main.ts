#!/usr/bin/env node
import { processIo } from "./io.js";
import { run } from "./program.js";

const { exitCode, serving } = await run(process.argv.slice(2), processIo());
// A client command ends here; a running daemon keeps the process until a signal stops it.
if (!serving) process.exit(exitCode);
