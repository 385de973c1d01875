#!/usr/bin/env node
// Makes sure Debian's `chromium` is available: the browser tests drive it with playwright-core
// (never a downloaded browser). Not fatal for `npm install` unless KEYLEDGER_REQUIRE_CHROMIUM=1;
// the browser tests say what to install when it is missing.
import { ensureProgram } from "./ensure-program.mjs";

ensureProgram({
  program: "chromium",
  aptPackage: "chromium",
  neededFor: "the browser tests",
  required: process.env.KEYLEDGER_REQUIRE_CHROMIUM === "1",
});
