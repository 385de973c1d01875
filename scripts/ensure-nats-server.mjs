#!/usr/bin/env node
// Makes sure the `nats-server` program is available: keyledger's daemon starts it when no NATS URL
// is configured, and the test harness starts one per test file. Not fatal for `npm install` unless
// KEYLEDGER_REQUIRE_NATS_SERVER=1: a daemon pointed at an external NATS (--nats-url) needs none.
// (On systems without apt, install the nats-server release for your platform and put it on PATH.)
import { ensureProgram } from "./ensure-program.mjs";

ensureProgram({
  program: "nats-server",
  aptPackage: "nats-server",
  neededFor: "the embedded default and the tests",
  required: process.env.KEYLEDGER_REQUIRE_NATS_SERVER === "1",
});
