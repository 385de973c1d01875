// Makes sure a program keyledger needs is installed: on Debian as root it installs the package
// with apt-get; otherwise it prints the command to run. Used by ensure-nats-server.mjs and
// ensure-chromium.mjs, which say what each program is for.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

const SEARCH_DIRS = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/bin"];

/** Where `program` is found on the PATH (or the usual system directories), or null. */
export function findProgram(program) {
  const dir = SEARCH_DIRS.find((candidate) => candidate && existsSync(join(candidate, program)));
  return dir === undefined ? null : join(dir, program);
}

/**
 * Exits 0 when `program` is there or was installed; otherwise prints how to install it and exits
 * 1 when `required`, 0 when not (then what needs it says so when it runs).
 */
export function ensureProgram({ program, aptPackage, neededFor, required }) {
  if (findProgram(program) !== null) process.exit(0);
  const install = `apt-get install -y ${aptPackage}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (isRoot && hasApt) {
    console.log(`${program} is missing; installing it: apt-get update && ${install}`);
    try {
      execFileSync("apt-get", ["update"], { stdio: "inherit" });
      execFileSync("apt-get", ["install", "-y", aptPackage], {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch {
      console.error(`Installing ${program} failed; run: ${install}`);
      process.exit(1);
    }
    if (findProgram(program) === null) {
      console.error(`${program} is still missing after the install; run: ${install}`);
      process.exit(1);
    }
    process.exit(0);
  }
  console.warn(`keyledger needs the ${program} program (${neededFor}), which is not installed. Install it with:\n  sudo ${install}`);
  process.exit(required ? 1 : 0);
}
