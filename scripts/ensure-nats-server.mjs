#!/usr/bin/env node
// Makes sure the `nats-server` program is available: keyledger's daemon starts it when no
// NATS URL is configured, and the test harness starts one per test file.
// On Debian as root it installs the package; otherwise it prints the command to run.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

const INSTALL = "apt-get install -y nats-server";
const SEARCH_DIRS = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];

function found() {
  return SEARCH_DIRS.some((dir) => dir && existsSync(join(dir, "nats-server")));
}

if (found()) process.exit(0);

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
if (isRoot && hasApt) {
  console.log(`nats-server is missing; installing it: apt-get update && ${INSTALL}`);
  try {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "nats-server"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch {
    console.error(`Installing nats-server failed; run: ${INSTALL}`);
    process.exit(1);
  }
  if (!found()) {
    console.error(`nats-server is still missing after the install; run: ${INSTALL}`);
    process.exit(1);
  }
  process.exit(0);
}

console.warn(
  `keyledger needs the nats-server program, which is not installed. Install it with:\n` +
    `  sudo ${INSTALL}\n` +
    `(on systems without apt, install the nats-server release for your platform and put it on PATH)`,
);
// Not fatal for `npm install`: a daemon pointed at an external NATS (--nats-url) needs no local server.
process.exit(process.env.KEYLEDGER_REQUIRE_NATS_SERVER === "1" ? 1 : 0);
