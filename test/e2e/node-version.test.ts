import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";

/**
 * `npm run test:node24` (part of `.ci/run`) sets KEYLEDGER_EXPECT_NODE_MAJOR=24: then the tests, and
 * the programs they start, must really run on that Node, not on whatever else is installed.
 */
describe("the Node the end-to-end tests run on", () => {
  const expected = process.env.KEYLEDGER_EXPECT_NODE_MAJOR;

  it("is a supported one (20, 22 or 24 and later), and the one the run asked for", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect([20, 22].includes(major) || major >= 24).toBe(true);
    if (expected !== undefined) expect(major).toBe(Number(expected));
  });

  it("is the one the tests' child processes run on too", () => {
    const version = execFileSync(process.execPath, [CLI, "--version"], { encoding: "utf8" }).trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const fromPath = execFileSync("node", ["--version"], { encoding: "utf8" }).trim();
    if (expected !== undefined) expect(fromPath.startsWith(`v${expected}.`)).toBe(true);
    else expect(fromPath).toMatch(/^v\d+\./);
  });
});
