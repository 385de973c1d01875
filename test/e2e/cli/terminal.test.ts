import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/**
 * Runs keyledger on a pseudo-terminal (util-linux `script`), typing `keystrokes` after a pause, and
 * answers everything the terminal showed.
 */
function onTerminal(
  args: string[],
  keystrokes: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, screen }));
    setTimeout(() => child.stdin.write(keystrokes), 1500);
    setTimeout(() => child.stdin.end(), 6000);
  });
}

describe("keyledger on a terminal", () => {
  it("reads the login key from a hidden prompt: the key never shows on the screen", async () => {
    const home = await tempDir("keyledger-home-");
    const { code, screen } = await onTerminal(["login", daemon.url, "--api-key"], `${adminKey}\r`, { HOME: home });
    expect(code).toBe(0);
    expect(screen).toContain("API key:");
    expect(screen).toContain("Logged in");
    expect(screen).not.toContain(adminKey);
  });

  it("asks before deleting, and deletes nothing when the answer is no", async () => {
    const admin = client(daemon.url, adminKey);
    await admin.post("/v1/service-accounts", { name: "keep-me" });
    const env = { HOME: await tempDir("keyledger-home-"), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey };
    const no = await onTerminal(["service-account", "delete", "keep-me"], "n\r", env);
    expect(no.screen).toContain('Delete service account "keep-me"');
    expect(no.code).toBe(1);
    expect(no.screen).toContain("aborted");
    expect((await admin.get("/v1/service-accounts/keep-me")).status).toBe(200);

    const yes = await onTerminal(["service-account", "delete", "keep-me"], "y\r", env);
    expect(yes.code).toBe(0);
    expect((await admin.get("/v1/service-accounts/keep-me")).status).toBe(404);
  });
});
