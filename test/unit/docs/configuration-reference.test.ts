/**
 * docs/configuration.md against the code: the settings of `src/config.ts` and the options of the
 * `serve` command that the program really builds (so that a flag added to `serve` by hand is seen
 * too). Every flag has its row with its variable and default; every row names a flag that exists, or
 * a variable that is read from the environment only.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { buildProgram } from "../../../src/cli/program.js";
import { envName, loadConfig, SETTINGS, type Config } from "../../../src/config.js";

const DOC = join(process.cwd(), "docs", "configuration.md");

/**
 * Variables read from the environment only (secrets never go in a flag, which `ps` shows), each with
 * the flags it needs beside it and the member of the configuration it sets.
 */
const ENVIRONMENT_ONLY: ReadonlyArray<{ variable: string; flags: Record<string, string>; key: keyof Config }> = [
  { variable: "KEYLEDGER_SIGNING_KEY", flags: {}, key: "signingKey" },
  {
    variable: "KEYLEDGER_NATS_PASSWORD",
    flags: { "nats-url": "nats://127.0.0.1:4222", "nats-user": "keyledger" },
    key: "natsPassword",
  },
  { variable: "KEYLEDGER_NATS_TOKEN", flags: { "nats-url": "nats://127.0.0.1:4222" }, key: "natsToken" },
];

const unused = (): never => {
  throw new Error("the configuration reference test runs no command");
};
const io: Io = {
  env: {},
  stdinIsTTY: false,
  stdoutIsTTY: false,
  stderrIsTTY: false,
  out: unused,
  err: unused,
  status: unused,
  drain: unused,
  writeOut: unused,
  interruptible: unused,
  ask: unused,
  readStdin: unused,
  readLine: unused,
};

/** A row of the table: `| `--flag` | `VARIABLE` | … |` or `| (none) | `VARIABLE` | … |`. */
interface Row {
  readonly flag: string | null;
  readonly variable: string | null;
  readonly text: string;
}

let rows: Row[];
let serveFlags: string[];

beforeAll(async () => {
  const doc = await readFile(DOC, "utf8");
  rows = doc
    .split("\n")
    .filter((line) => line.startsWith("| `--") || line.startsWith("| (none)"))
    .map((text) => {
      const cells = text.split("|").map((cell) => cell.trim());
      return {
        flag: /^`(--[a-z0-9-]+)`$/.exec(cells[1] ?? "")?.[1] ?? null,
        variable: /^`(KEYLEDGER_[A-Z0-9_]+)`$/.exec(cells[2] ?? "")?.[1] ?? null,
        text,
      };
    });
  const serve = buildProgram(io, () => undefined).commands.find((command: Command) => command.name() === "serve");
  serveFlags = (serve?.options ?? []).flatMap((option) => (option.long === undefined ? [] : [option.long]));
});

describe("docs/configuration.md", () => {
  it("names every flag of `keyledger serve` with its variable and its default", () => {
    expect(serveFlags.length).toBeGreaterThanOrEqual(SETTINGS.length);
    for (const flag of serveFlags) {
      const row = rows.find((candidate) => candidate.flag === flag);
      expect(row, `${flag} has no row in docs/configuration.md`).toBeDefined();
      expect(row!.variable, `${flag}'s variable`).toBe(envName(flag.slice(2)));
    }
    for (const setting of SETTINGS) {
      const row = rows.find((candidate) => candidate.flag === `--${setting.flag}`);
      expect(row, `--${setting.flag}`).toBeDefined();
      const fallback = setting.fallback;
      if (fallback !== undefined && !Array.isArray(fallback) && typeof fallback !== "boolean")
        expect(row!.text, `--${setting.flag}'s default`).toContain(`\`${String(fallback)}\``);
    }
  });

  it("names every variable that is read from the environment only", () => {
    for (const { variable, flags, key } of ENVIRONMENT_ONLY) {
      expect(
        rows.some((row) => row.flag === null && row.variable === variable),
        `${variable} has no (none) row`,
      ).toBe(true);
      // ...and the code reads it.
      expect(loadConfig(flags, { [variable]: "from-the-environment" })[key], variable).toBe("from-the-environment");
    }
  });

  it("has no row for a flag or variable the code does not have", () => {
    const flags = new Set(serveFlags);
    const onlyEnvironment = new Set(ENVIRONMENT_ONLY.map(({ variable }) => variable));
    const unknown = rows
      .filter((row) => (row.flag === null ? row.variable === null || !onlyEnvironment.has(row.variable) : !flags.has(row.flag)))
      .map((row) => row.text.slice(0, 80));
    expect(unknown, "rows of docs/configuration.md for flags or variables the code does not have").toEqual([]);
  });
});
