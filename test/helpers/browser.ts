import { existsSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";
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
