import { resolve } from "node:path";
import { defineConfig } from "vite";

// Built at install (scripts/build.mjs) into dist/console, which the daemon serves at /console.
export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  logLevel: "warn",
  build: {
    outDir: resolve(import.meta.dirname, "../dist/console"),
    emptyOutDir: true,
    // Every script and style a file of its own: the console's CSP allows nothing inline.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
