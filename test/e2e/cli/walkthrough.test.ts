import { stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { sleep } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let home: string;
let adminKey: string;
const outputs: CliResult[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
  home = await tempDir("keyledger-home-");
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/** The operator's shell: a home directory of its own, no KEYLEDGER_* variables. */
async function operator(...args: string[]): Promise<CliResult> {
  return remember(await runCli(args, { env: { PATH: process.env.PATH, HOME: home } }));
}

/** A CI job's shell: only the two variables. */
async function job(apiKey: string, ...args: string[]): Promise<CliResult> {
  return remember(
    await runCli(args, { env: { PATH: process.env.PATH, HOME: home, KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: apiKey } }),
  );
}

function remember(result: CliResult): CliResult {
  outputs.push(result);
  return result;
}

const keyIn = (text: string): string => /kl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}/.exec(text)![0];

describe("the README walkthrough, run through the built keyledger program", () => {
  it("logs in with the admin key from stdin, checked with whoami, stored with mode 0600 and never printed", async () => {
    const login = await runCli(["login", daemon.url, "--api-key"], {
      env: { PATH: process.env.PATH, HOME: home },
      input: `${adminKey}\n`,
    });
    outputs.push(login);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain("Logged in");
    expect(login.stdout).toContain("admin");
    const path = join(home, ".config", "keyledger", "config.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ url: daemon.url, apiKey: adminKey });

    const whoami = await operator("whoami");
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(/Service account:\s+admin/);
  });

  it("refuses a login whose key does not work, and stores nothing", async () => {
    const otherHome = await tempDir("keyledger-home-");
    const login = await runCli(["login", daemon.url, "--api-key"], {
      env: { PATH: process.env.PATH, HOME: otherHome },
      input: "kl_not-a-key\n",
    });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("a valid credential is required");
    await expect(stat(join(otherHome, ".config", "keyledger", "config.json"))).rejects.toThrow();
  });

  let defaultKey: string;
  let deployKey: string;

  it("creates an account and keys, printing each secret once with a warning", async () => {
    const created = await operator("service-account", "create", "ci-runner", "-d", "CI jobs of team A", "--role", "verifier");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("Created service account ci-runner");
    expect(created.stdout).toContain("cannot be shown again");
    defaultKey = keyIn(created.stdout);

    const key = await operator(
      "service-account",
      "api-key",
      "ci-runner",
      "create",
      "deploy",
      "--expires-in",
      "30d",
      "-o",
      "json",
    );
    expect(key.code).toBe(0);
    const json = JSON.parse(key.stdout);
    expect(json).toMatchObject({ name: "deploy", active: true });
    expect(Date.parse(json.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(key.stderr).toContain("cannot be shown again");
    deployKey = json.key;
    expect(keyIn(deployKey)).toBe(deployKey);
  });

  it("lists as an aligned table and as JSON, and describes", async () => {
    const list = await operator("service-account", "list");
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+ID\s+ACTIVE\s+ROLES\s+CREATED$/);
    const row = lines.find((line) => line.startsWith("ci-runner"))!;
    expect(row.indexOf("sa_")).toBe(lines[0]!.indexOf("ID"));

    const json = JSON.parse((await operator("service-account", "list", "-o", "json")).stdout);
    expect(json.items.map((item: { name: string }) => item.name)).toEqual(["admin", "ci-runner"]);

    const described = JSON.parse((await operator("service-account", "describe", "ci-runner", "-o", "json")).stdout);
    expect(described.apiKeys.map((key: { name: string }) => key.name)).toEqual(["default", "deploy"]);
    expect(JSON.stringify(described)).not.toContain(deployKey);

    const keys = await operator("service-account", "api-key", "ci-runner", "list");
    expect(keys.stdout).toMatch(/^NAME\s+ID\s+STATUS\s+HINT/);
    expect(keys.stdout).toContain("deploy");
  });

  it("lets a job use a key through KEYLEDGER_URL and KEYLEDGER_API_KEY, which override the stored login", async () => {
    const whoami = await job(deployKey, "whoami", "-o", "json");
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      serviceAccount: { name: "ci-runner" },
      apiKey: { name: "deploy" },
      credential: "current",
    });
  });

  it("rotates with --retain 2s: the old secret works until then and is refused after", async () => {
    const rotated = await operator("service-account", "api-key", "ci-runner", "rotate", "deploy", "--retain", "2s", "-o", "json");
    expect(rotated.code).toBe(0);
    const json = JSON.parse(rotated.stdout);
    const deadline = Date.parse(json.retainedUntil);
    expect(deadline - Date.now()).toBeLessThanOrEqual(2000);
    expect(deadline - Date.now()).toBeGreaterThan(0);
    const old = await job(deployKey, "whoami", "-o", "json");
    expect(JSON.parse(old.stdout).credential).toBe("retained");
    await sleep(Math.max(0, deadline - Date.now()) + 50);
    const refused = await job(deployKey, "whoami");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("a valid credential is required");
    expect(refused.stdout).toBe("");
    deployKey = json.key;
    expect((await job(deployKey, "whoami")).code).toBe(0);
  });

  it("deactivates a key and an account with immediate effect, and activates them again", async () => {
    expect((await operator("service-account", "api-key", "ci-runner", "update", "deploy", "--active", "false")).code).toBe(0);
    expect((await job(deployKey, "whoami")).code).toBe(1);
    expect((await operator("service-account", "api-key", "ci-runner", "update", "deploy", "--active", "true")).code).toBe(0);
    expect((await job(deployKey, "whoami")).code).toBe(0);

    expect((await operator("service-account", "update", "ci-runner", "--active", "false")).code).toBe(0);
    expect((await job(defaultKey, "whoami")).code).toBe(1);
    expect((await job(deployKey, "whoami")).code).toBe(1);
    expect((await operator("service-account", "update", "ci-runner", "--active", "true")).code).toBe(0);
    expect((await job(defaultKey, "whoami")).code).toBe(0);
  });

  it("deletes with -y; afterwards the account is not found (exit 1, the API's message on stderr)", async () => {
    const deletedKey = await operator("service-account", "api-key", "ci-runner", "delete", "deploy", "-y");
    expect(deletedKey.code).toBe(0);
    expect((await job(deployKey, "whoami")).code).toBe(1);
    expect((await operator("service-account", "delete", "ci-runner", "-y")).code).toBe(0);
    const gone = await operator("service-account", "describe", "ci-runner");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("service account not found");
  });

  it("answers usage errors with exit 2 and a message naming the flag", async () => {
    const unknown = await operator("service-account", "list", "--bogus");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--bogus");
    const retain = await operator("service-account", "api-key", "admin", "rotate", "default", "--retain", "2x");
    expect(retain.code).toBe(2);
    expect(retain.stderr).toContain("--retain");
    const active = await operator("service-account", "update", "admin", "--active", "maybe");
    expect(active.code).toBe(2);
    expect(active.stderr).toContain("--active");
    const format = await operator("whoami", "-o", "yaml");
    expect(format.code).toBe(2);
  });

  it("answers a wrong key with exit 1 and the API's message on stderr", async () => {
    const wrong = await job("kl_01ABCDEFGHJKMNPQRSTVWXYZ01_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "whoami");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("a valid credential is required");
  });

  it("logs out; then a command without the variables is a usage error", async () => {
    expect((await operator("logout")).stdout).toContain("Logged out");
    const after = await operator("whoami");
    expect(after.code).toBe(2);
    expect(after.stderr).toContain("keyledger login");
  });

  it("never printed the stored key or a stack trace", () => {
    for (const { stdout, stderr } of outputs) {
      expect(stdout + stderr).not.toContain(adminKey);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });
});
