import { execFile } from "node:child_process";
import { cp, mkdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * scripts/build.mjs, run in a small project of its own (a copy of the script, one source file, the
 * repository's TypeScript): `--if-stale` compiles only when a source is newer than the last build,
 * so that `npm start` with nothing changed does not compile (nor rewrite dist/ under a test suite).
 */
const REPO = resolve(import.meta.dirname, "../..");
let project: string;

const build = async (...flags: string[]): Promise<void> => {
  await promisify(execFile)(process.execPath, [join(project, "scripts", "build.mjs"), ...flags], { cwd: project });
};
const builtAt = async (): Promise<number> => (await stat(join(project, "dist", "cli", "main.js"))).mtimeMs;

beforeAll(async () => {
  project = join(tmpdir(), `keyledger-build-${process.pid}-${Date.now()}`);
  await mkdir(join(project, "src", "cli"), { recursive: true });
  await mkdir(join(project, "scripts"));
  await mkdir(join(project, "node_modules"));
  await cp(join(REPO, "scripts", "build.mjs"), join(project, "scripts", "build.mjs"));
  await symlink(join(REPO, "node_modules", "typescript"), join(project, "node_modules", "typescript"));
  const options = { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: [] };
  await writeFile(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: options }));
  await writeFile(
    join(project, "tsconfig.build.json"),
    JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { rootDir: "src", outDir: "dist" }, include: ["src"] }),
  );
  await writeFile(join(project, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(project, "src", "cli", "main.ts"), 'export const version: string = "1";\n');
}, 60_000);

afterAll(async () => {
  if (project !== undefined) await rm(project, { recursive: true, force: true });
});

describe("scripts/build.mjs", () => {
  it("builds when there is no build yet, then not again while nothing changed", async () => {
    await build("--if-stale");
    expect(await readFile(join(project, "dist", "cli", "main.js"), "utf8")).toContain('"1"');
    expect((await stat(join(project, "dist", "cli", "main.js"))).mode & 0o111).not.toBe(0);
    const first = await builtAt();
    await build("--if-stale");
    expect(await builtAt()).toBe(first);
  }, 60_000);

  it("builds again once a source is newer than the last build", async () => {
    const source = join(project, "src", "cli", "main.ts");
    await writeFile(source, 'export const version: string = "2";\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(source, later, later);
    await build("--if-stale");
    expect(await readFile(join(project, "dist", "cli", "main.js"), "utf8")).toContain('"2"');
  }, 60_000);

  it("always builds without --if-stale (npm run build)", async () => {
    const earlier = new Date(Date.now() - 3_600_000);
    await utimes(join(project, "src", "cli", "main.ts"), earlier, earlier);
    await utimes(join(project, "src", "cli"), earlier, earlier);
    await utimes(join(project, "src"), earlier, earlier);
    await build("--if-stale");
    const before = await builtAt();
    await build("--if-stale");
    expect(await builtAt()).toBe(before);
    await new Promise((done) => setTimeout(done, 20));
    await build();
    expect(await builtAt()).toBeGreaterThan(before);
  }, 60_000);
});
