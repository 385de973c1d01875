import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnDaemon, type DaemonProcess } from "../../helpers/daemon-process.js";
import { tempDir } from "../../helpers/nats.js";
import { freePort } from "../../helpers/ports.js";
import { walkthroughBlocks, type ShellName } from "../../helpers/readme-walkthrough.js";
import { Shell, type ShellResult } from "../../helpers/shell.js";

/**
 * The README's walkthrough, typed as written: its commands are read from the README's own code
 * blocks (never copied here), each run in the shell the README names (a bash session that keeps its
 * variables), in order, against a fresh daemon started by step 1. Only three things are put in:
 * the daemon's port (the README says 8080, the test takes a free one), the data directory (a
 * temporary one, where the README's `.keyledger` is), and the placeholder `kl_…`, which the README
 * says is the deploy key printed in step 3. Every command must exit 0; some outputs are checked.
 */

const REPO = process.cwd();
const README_URL = "http://127.0.0.1:8080";
const KEY = /kl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}/;

let daemon: DaemonProcess | undefined;
let rotated = false;
const shells = new Map<ShellName, Shell>();

afterAll(async () => {
  for (const shell of shells.values()) shell.close();
  if (daemon !== undefined && daemon.child.exitCode === null) {
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  }
});

/** What some commands must print, besides exiting 0 (matched on the command as the README writes it). */
const expectations: Array<{ command: RegExp; shell?: ShellName; check: (result: ShellResult) => void }> = [
  { command: /^keyledger whoami$/, shell: "second", check: (result) => expect(result.stdout).toContain("admin") },
  {
    command: /^keyledger whoami\s*(#|$)/,
    shell: "third",
    check: (result) => {
      expect(result.stdout).toContain("ci-runner");
      expect(result.stdout).toContain("deploy");
      // After step 5's rotation the third shell still holds the old secret, retained.
      if (rotated) expect(result.stdout).toContain("retained");
    },
  },
  {
    command: /^keyledger service-account api-key ci-runner create deploy\b/,
    check: (result) => expect(result.stdout).toMatch(KEY),
  },
  {
    command: /^keyledger service-account list$/,
    check: (result) => expect(result.stdout).toContain("ci-runner"),
  },
  {
    command: /^keyledger service-account describe ci-runner --as-of/,
    check: (result) => expect(result.stdout).toContain("ci-runner"),
  },
  {
    command: /^keyledger events --account ci-runner\s*(#|$)/,
    check: (result) => expect(result.stdout).toContain("ServiceAccountDeleted"),
  },
  {
    command: /^keyledger audit verify\s*(#|$)/,
    check: (result) => expect(result.stdout).toMatch(/\bok\b|no problems/i),
  },
  {
    command: /^keyledger audit diff --from/,
    check: (result) => {
      expect(result.stdout).toContain("ci-runner");
      expect(result.stdout).toContain("deleted");
    },
  },
  {
    command: /^keyledger audit state --as-of/,
    check: (result) => expect(result.stdout).toContain("ci-runner"),
  },
  {
    command: /^keyledger projections rebuild/,
    check: (result) => expect(result.stdout).toMatch(/applied|events/i),
  },
];

describe("the README's walkthrough, run as written", () => {
  it("runs every command of every step, in order, each exiting 0", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const blocks = walkthroughBlocks(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    expect(new Set(blocks.map((block) => block.step))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));

    const work = await tempDir("keyledger-walkthrough-");
    const home = await tempDir("keyledger-home-");
    const bin = await tempDir("keyledger-bin-");
    const program = join(bin, "keyledger");
    await writeFile(program, `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, "dist/cli/main.js")}" "$@"\n`);
    await chmod(program, 0o755);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: home, LANG: "C.UTF-8" };

    let deployKey: string | undefined;
    const ran: string[] = [];
    for (const block of blocks) {
      if (block.step === 1) {
        // Step 1 starts the daemon in the first shell. `npm install` has run (this is the test
        // suite), and so has the build: `npm start` runs without its prestart build, which would
        // rewrite dist/ under the other tests' feet; the port and data directory come from variables.
        expect(block.lines).toEqual(["npm install && npm start"]);
        daemon = spawnDaemon("npm", ["start", "--silent", "--ignore-scripts"], port, {
          cwd: REPO,
          env: {
            ...process.env,
            KEYLEDGER_NATS_URL: "",
            KEYLEDGER_PORT: String(port),
            KEYLEDGER_DATA_DIR: join(work, ".keyledger"),
          },
        });
        await daemon.ready;
        ran.push("npm start");
        continue;
      }
      if (block.step === 9 && daemon !== undefined && daemon.child.exitCode === null) {
        // "Stop the daemon first."
        daemon.child.kill("SIGTERM");
        expect(await daemon.exited).toBe(0);
      }
      expect(block.shell, `step ${block.step}`).not.toBe("first");
      let shell = shells.get(block.shell);
      if (shell === undefined) {
        shell = new Shell({ env, cwd: work });
        shells.set(block.shell, shell);
      }
      for (const written of block.lines) {
        let line = written.replaceAll(README_URL, url);
        if (line.includes("kl_…")) {
          expect(deployKey, "step 3 printed the deploy key before it is used").toBeDefined();
          line = line.replaceAll("kl_…", deployKey!);
        }
        expect(line, "a placeholder the test does not know").not.toContain("…");
        const result = await shell.run(line);
        ran.push(written);
        expect(
          result.code,
          `step ${block.step} (${block.shell} shell): ${written}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
        ).toBe(0);
        if (/create deploy\b/.test(written)) deployKey = KEY.exec(result.stdout)?.[0];
        if (/rotate deploy\b/.test(written)) rotated = true;
        for (const expectation of expectations) {
          if (!expectation.command.test(written)) continue;
          if (expectation.shell !== undefined && expectation.shell !== block.shell) continue;
          expectation.check(result);
        }
        // No command prints a secret on stderr, and none prints the admin key at all.
        expect(result.stderr).not.toMatch(KEY);
      }
    }
    // Every expectation met a command: a README that drops one of them shows here.
    for (const expectation of expectations)
      expect(
        ran.some((line) => expectation.command.test(line)),
        String(expectation.command),
      ).toBe(true);
  }, 240_000);
});
