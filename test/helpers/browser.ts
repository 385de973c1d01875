import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { tempDir } from "./nats.js";

/** Debian's chromium: the browser tests never download one. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * A fresh headless Chromium (its own new user data directory), driven by playwright-core. Fails
 * with the command to run when Debian's chromium is missing (`npm install` installs it as root).
 */
export async function launchBrowser(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the browser tests need Debian's chromium at ${CHROMIUM}: run apt-get install -y chromium (or node scripts/ensure-chromium.mjs as root)`,
    );
  return chromium.launchPersistentContext(await tempDir("keyledger-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * axe-core's serious and critical violations on the page as it is now, each as `rule: where`. The
 * script is evaluated through the browser's debugging protocol, which the page's CSP does not cover.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, "utf8"));
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as Array<{
    id: string;
    impact: string | null;
    nodes: Array<{ target: string[] }>;
  }>;
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}
