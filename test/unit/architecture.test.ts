import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]))),
  );
  return files.flat().filter((file) => file.endsWith(".ts"));
}

/** Relative imports of each file, resolved to source paths (type-only imports included: they tie files too). */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles(SRC)) {
    const text = await readFile(file, "utf8");
    const targets = [...text.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)].map((match) =>
      resolve(dirname(file), match[1]!.replace(/\.js$/, ".ts")),
    );
    graph.set(file, targets);
  }
  return graph;
}

describe("the source tree", () => {
  it("has no import cycle", async () => {
    const graph = await importGraph();
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keeps the domain pure: no import from other areas, no I/O, no clock", async () => {
    const graph = await importGraph();
    for (const [file, targets] of graph) {
      if (!file.startsWith(join(SRC, "domain"))) continue;
      for (const target of targets)
        expect(target.startsWith(join(SRC, "domain")), `${relative(SRC, file)} imports ${relative(SRC, target)}`).toBe(true);
      const text = await readFile(file, "utf8");
      expect(text, relative(SRC, file)).not.toMatch(
        /new Date\(\)|Date\.now\(\)|randomBytes|from "node:(fs|net|http)|from "(level|fastify|@nats-io)/,
      );
    }
  });

  it("keeps the trust root's checking code free of NATS, LevelDB, HTTP and the clock (an offline verifier can use it)", async () => {
    const graph = await importGraph();
    const allowed = ["trust", "signing", "domain"].map((area) => join(SRC, area));
    for (const [file, targets] of graph) {
      if (!file.startsWith(join(SRC, "trust"))) continue;
      for (const target of targets)
        expect(
          allowed.some((area) => target.startsWith(area)),
          `${relative(SRC, file)} imports ${relative(SRC, target)}`,
        ).toBe(true);
      const text = await readFile(file, "utf8");
      expect(text, relative(SRC, file)).not.toMatch(
        /new Date\(\)|Date\.now\(\)|from "node:(fs|net|http)|from "(level|fastify|@nats-io|pino)/,
      );
    }
  });

  it("keeps the stored format and the auditor free of NATS, LevelDB and HTTP, all the way down (the offline bundle verifier runs on them)", async () => {
    const graph = await importGraph();
    const reached = reachedFrom(graph, join(SRC, "format", "index.ts"), join(SRC, "audit", "index.ts"));
    const areas = new Set([...reached].map((file) => relative(SRC, file).split("/")[0]));
    expect([...areas].sort()).toEqual(["audit", "domain", "format", "signing", "trust"]);
    for (const file of reached) {
      const text = await readFile(file, "utf8");
      expect(text, relative(SRC, file)).not.toMatch(/from "(level|classic-level|fastify|@nats-io\/[a-z-]+|pino)"/);
    }
  });

  it("keeps the client's light entry light: no NATS, no tweetnacl, no Node module, all the way down (a browser and every CLI command load it)", async () => {
    const graph = await importGraph();
    const reached = reachedFrom(graph, join(SRC, "client", "http.ts"));
    expect(reached.size).toBeGreaterThan(3);
    for (const file of reached) {
      expect(relative(SRC, file).startsWith("client/"), relative(SRC, file)).toBe(true);
      const text = await readFile(file, "utf8");
      expect(text, relative(SRC, file)).not.toMatch(/from "(node:[a-z_/]+|tweetnacl|@nats-io\/[a-z-]+)"/);
    }
  });

  it("keeps the web console apart: it imports nothing from src/ (the API and the SDK's package only), and src/ nothing from it", async () => {
    const consoleDir = resolve("console", "src");
    const files = (await readdir(consoleDir, { recursive: true })).filter((file) => /\.tsx?$/.test(file));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = await readFile(join(consoleDir, file), "utf8");
      for (const [, specifier] of text.matchAll(/from "([^"]+)"/g)) {
        const local = specifier!.startsWith(".");
        if (local)
          expect(resolve(consoleDir, dirname(file), specifier!).startsWith(consoleDir), `${file} imports ${specifier}`).toBe(
            true,
          );
        else expect(specifier, file).toMatch(/^(preact(\/hooks)?|@keyledger\/client(\/http)?)$/);
      }
    }
    for (const file of await sourceFiles(SRC))
      expect(await readFile(file, "utf8"), relative(SRC, file)).not.toMatch(/from "[^"]*console\//);
  });

  // An area may declare a light entry beside its index.ts, exporting a part of the same things.
  const LIGHT_ENTRIES = ["client/http.ts"];

  it("imports another area only through its index.ts (or a light entry it declares)", async () => {
    const graph = await importGraph();
    const areaOf = (file: string): string => relative(SRC, file).split("/")[0]!;
    const offenders: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const targetArea = areaOf(target);
        const crossesArea = targetArea !== areaOf(file) && relative(SRC, target).includes("/");
        const entry = target.endsWith("/index.ts") || LIGHT_ENTRIES.includes(relative(SRC, target));
        if (crossesArea && !entry) offenders.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

/** Every file the entries import, directly or not (the entries included). */
function reachedFrom(graph: Map<string, string[]>, ...entries: string[]): Set<string> {
  const reached = new Set<string>();
  const visit = (file: string): void => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const target of graph.get(file) ?? []) visit(target);
  };
  for (const entry of entries) visit(entry);
  return reached;
}
