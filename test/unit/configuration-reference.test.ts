import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envName, SETTINGS } from "../../src/config.js";

/** Variables that are read from the environment only (secrets never go in a flag, which `ps` shows). */
const ENVIRONMENT_ONLY = ["KEYLEDGER_SIGNING_KEY", "KEYLEDGER_NATS_PASSWORD", "KEYLEDGER_NATS_TOKEN"];

describe("the README's configuration reference", () => {
  it("names every flag with its variable and its default", async () => {
    const readme = await readFile(join(process.cwd(), "README.md"), "utf8");
    const rows = readme.split("\n").filter((line) => line.startsWith("| `--") || line.startsWith("| (none)"));
    for (const setting of SETTINGS) {
      const row = rows.find((line) => line.startsWith(`| \`--${setting.flag}\``));
      expect(row, `--${setting.flag}`).toBeDefined();
      expect(row, `--${setting.flag}`).toContain(`\`${envName(setting.flag)}\``);
      const fallback = setting.fallback === undefined ? null : String(setting.fallback);
      if (fallback !== null && !Array.isArray(setting.fallback) && typeof setting.fallback !== "boolean")
        expect(row, `--${setting.flag} default`).toContain(`\`${fallback}\``);
    }
    for (const variable of ENVIRONMENT_ONLY)
      expect(
        rows.some((line) => line.startsWith("| (none)") && line.includes(`\`${variable}\``)),
        variable,
      ).toBe(true);
  });
});
