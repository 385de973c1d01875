import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configPath, readLogin, removeLogin, writeLogin } from "../../../src/cli/login-store.js";
import { tempDir } from "../../helpers/nats.js";

describe("the stored login", () => {
  it("lives in the user's config directory", () => {
    expect(configPath({ HOME: "/home/u" })).toBe("/home/u/.config/keyledger/config.json");
    expect(configPath({ HOME: "/home/u", XDG_CONFIG_HOME: "/xdg" })).toBe("/xdg/keyledger/config.json");
  });

  it("is written with mode 0600 in a 0700 directory, read back, and removed", async () => {
    const path = join(await tempDir(), "keyledger", "config.json");
    await writeLogin(path, { url: "http://x:1", apiKey: "kl_secret" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777).toBe(0o700);
    expect(await readLogin(path)).toEqual({ url: "http://x:1", apiKey: "kl_secret" });
    expect(await removeLogin(path)).toBe(true);
    expect(await readLogin(path)).toBeNull();
    expect(await removeLogin(path)).toBe(false);
  });
});
