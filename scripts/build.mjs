#!/usr/bin/env node
// Builds dist/ from src/ (`npm run build`). With --if-stale, only when a source is newer than the
// last build: `npm start`, `npm test` and `npm run bench` run that first, so that a start with
// nothing changed takes no compile (and never rewrites dist/ under a running test suite).
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const STAMP = join(root, "dist", ".build-stamp");
const INPUTS = [
  "src",
  "tsconfig.json",
  "tsconfig.build.json",
  "package-lock.json",
  "console",
  join("packages", "client", "tsconfig.json"),
];

/** The newest modification time among the files under `path` (0 when there are none). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs; // a file removed changes its directory's time
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const built = existsSync(STAMP) && existsSync(join(root, "dist", "cli", "main.js")) ? statSync(STAMP).mtimeMs : 0;
const changed = Math.max(...INPUTS.map((input) => newest(join(root, input))));
if (process.argv.includes("--if-stale") && built > 0 && changed <= built) process.exit(0);

const started = new Date();
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const steps = [[tsc, "-p", join(root, "tsconfig.build.json")]];
// The SDK's package (packages/client), which the web console imports, then the console itself:
// its types checked, and Vite's build into dist/console, which the daemon serves at /console.
if (existsSync(join(root, "packages", "client", "tsconfig.json"))) steps.push([tsc, "-p", join(root, "packages", "client")]);
if (existsSync(join(root, "console", "vite.config.ts")))
  steps.push(
    [tsc, "-p", join(root, "console")],
    [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", join(root, "console", "vite.config.ts")],
  );
try {
  for (const step of steps) execFileSync(process.execPath, step, { stdio: "inherit", cwd: root });
} catch {
  process.exit(1); // the step has said why
}
chmodSync(join(root, "dist", "cli", "main.js"), 0o755);
// The stamp bears the time the build started: a source saved while it ran is newer, and builds again.
writeFileSync(STAMP, `${started.toISOString()}\n`);
utimesSync(STAMP, started, started);
