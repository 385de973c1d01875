import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";

/** The web console's built files (`console/`, built by Vite into `dist/console`), held in memory. */
export interface ConsoleFiles {
  readonly index: Buffer;
  /** By file name (hashed by Vite), with its content type. */
  readonly assets: ReadonlyMap<string, { readonly type: string; readonly body: Buffer }>;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/**
 * Reads the built console, or answers null when it is not built. The daemon runs from `dist/`
 * (then the console is `dist/console`) or, in tests, from `src/` (then it is `../dist/console`).
 */
export function loadConsoleFiles(here: string = import.meta.dirname): ConsoleFiles | null {
  const dir = [resolve(here, "../console"), resolve(here, "../../dist/console")].find((candidate) =>
    existsSync(join(candidate, "index.html")),
  );
  if (dir === undefined) return null;
  const assets = new Map<string, { type: string; body: Buffer }>();
  const assetDir = join(dir, "assets");
  if (existsSync(assetDir))
    for (const name of readdirSync(assetDir)) {
      const type = TYPES[extname(name)];
      if (type !== undefined) assets.set(name, { type, body: readFileSync(join(assetDir, name)) });
    }
  return { index: readFileSync(join(dir, "index.html")), assets };
}
