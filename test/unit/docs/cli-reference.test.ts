/**
 * docs/cli.md against the program itself: the commander program is built by `buildProgram` (with an
 * Io that nothing is ever asked of) and its command tree walked. Every command has a section in the
 * doc (a heading that is its path as a code span, such as `` `service-account api-key rotate` ``),
 * each section names every long option of its command, and every such heading names a command
 * that exists.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { buildProgram } from "../../../src/cli/program.js";
import { docSections, mentionsFlag, type DocSection } from "./sections.js";

const DOC = join(process.cwd(), "docs", "cli.md");

/** An Io for building the program only: commands are never run, so any use of it is a mistake. */
function unusedIo(): Io {
  const unused = (): never => {
    throw new Error("the CLI reference test runs no command");
  };
  return {
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
}

interface Walked {
  /** The command's path under `keyledger`, such as `service-account api-key rotate`. */
  readonly path: string;
  readonly command: Command;
}

/** Every command under the program, depth first (commander's own `help` command left out). */
function walk(command: Command, parents: readonly string[] = []): Walked[] {
  return command.commands
    .filter((sub) => sub.name() !== "help")
    .flatMap((sub) => {
      const path = [...parents, sub.name()];
      return [{ path: path.join(" "), command: sub }, ...walk(sub, path)];
    });
}

const longOptions = (command: Command): string[] =>
  command.options.flatMap((option) => (option.long === undefined ? [] : [option.long]));

let program: Command;
let commands: Walked[];
let doc: string;
let sections: Map<string, DocSection>;

beforeAll(async () => {
  program = buildProgram(unusedIo(), () => undefined);
  commands = walk(program);
  doc = await readFile(DOC, "utf8");
  const topLevel = new Set(program.commands.map((command) => command.name()));
  sections = new Map();
  for (const section of docSections(doc)) {
    // A command's section: a heading that is a code span starting with a top-level command.
    if (!topLevel.has(section.title.split(" ")[0]!) || !/^[a-z][a-z -]*$/.test(section.title)) continue;
    expect(sections.has(section.title), `docs/cli.md has two sections for \`${section.title}\``).toBe(false);
    sections.set(section.title, section);
  }
});

describe("docs/cli.md", () => {
  it("has a section for every command and subcommand of the program", () => {
    expect(commands.map(({ path }) => path)).toEqual(
      expect.arrayContaining(["serve", "service-account api-key rotate", "audit diff", "signing-keys approve"]),
    );
    const missing = commands.map(({ path }) => path).filter((path) => !sections.has(path));
    expect(missing, "commands without a `## `command path`` section in docs/cli.md").toEqual([]);
  });

  it("names every long option of each command in that command's section", () => {
    const missing: string[] = [];
    for (const { path, command } of commands) {
      const section = sections.get(path);
      if (section === undefined) continue; // reported above
      for (const flag of longOptions(command)) if (!mentionsFlag(section.body, flag)) missing.push(`${path}: ${flag}`);
      for (const alias of command.aliases())
        if (!new RegExp(`\\b${alias}\\b`).test(section.body)) missing.push(`${path}: the alias ${alias}`);
    }
    expect(missing, "options (and aliases) that docs/cli.md does not name under their command").toEqual([]);
  });

  it("names the program's own options", () => {
    const missing = longOptions(program).filter((flag) => !mentionsFlag(doc, flag));
    expect(missing).toEqual([]);
  });

  it("has no section for a command the program does not have", () => {
    const known = new Set(commands.map(({ path }) => path));
    const unknown = [...sections.keys()].filter((path) => !known.has(path));
    expect(unknown, "sections of docs/cli.md for commands the program does not have").toEqual([]);
  });
});
