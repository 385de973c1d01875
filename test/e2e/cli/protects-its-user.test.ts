import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

/**
 * The CLI as a newcomer meets it: a deletion off a terminal needs a "y" on stdin, a command never
 * switches off the very credential it runs with unless told --force, and what goes wrong is said in
 * a sentence a person would write.
 */

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "auth-failures-per-minute": "5" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const KEY = /kl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}/;

/** Runs the CLI with the environment's admin key, and what it reads on stdin. */
async function asAdmin(args: string[], input = ""): Promise<CliResult> {
  return runCli(args, {
    env: { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey },
    input,
  });
}

/** A second admin, logged in through a stored login of its own (a home directory of its own). */
async function loggedInAdmin(
  name: string,
): Promise<{ home: string; key: string; run: (...args: string[]) => Promise<CliResult> }> {
  const created = await admin.post("/v1/service-accounts", { name, roles: ["admin"] });
  expect(created.status).toBe(201);
  const key: string = created.body.apiKey.key;
  const home = await tempDir();
  const env = { PATH: process.env.PATH, HOME: home };
  const login = await runCli(["login", daemon.url, "--api-key"], { env, input: `${key}\n` });
  expect(login.code, login.stderr).toBe(0);
  return { home, key, run: (...args: string[]) => runCli(args, { env }) };
}

const exists = async (path: string): Promise<boolean> => (await admin.get(path)).status === 200;

describe("a deletion off a terminal reads its answer from stdin", () => {
  it("deletes an account only on y or yes (any case); n, anything else and end of input abort with exit 1", async () => {
    await admin.post("/v1/service-accounts", { name: "keep-me", createApiKey: false });
    for (const input of ["n\n", "", "maybe\n", "nope\ny\n"]) {
      const answer = await asAdmin(["service-account", "delete", "keep-me"], input);
      expect(answer.code, JSON.stringify(input)).toBe(1);
      expect(answer.stderr).toContain("nothing was deleted");
      expect(await exists("/v1/service-accounts/keep-me")).toBe(true);
    }
    const yes = await asAdmin(["service-account", "delete", "keep-me"], "YES\n");
    expect(yes.code, yes.stderr).toBe(0);
    expect(await exists("/v1/service-accounts/keep-me")).toBe(false);
  });

  it("does the same for an API key", async () => {
    await admin.post("/v1/service-accounts", { name: "holder" });
    await admin.post("/v1/service-accounts/holder/api-keys", { name: "spare" });
    const no = await asAdmin(["service-account", "api-key", "holder", "delete", "spare"], "n\n");
    expect(no.code).toBe(1);
    expect(await exists("/v1/service-accounts/holder/api-keys/spare")).toBe(true);
    const yes = await asAdmin(["service-account", "api-key", "holder", "delete", "spare"], "y\n");
    expect(yes.code, yes.stderr).toBe(0);
    expect(await exists("/v1/service-accounts/holder/api-keys/spare")).toBe(false);
  });
});

describe("a command never switches off the credential it runs with, unless --force", () => {
  it("refuses to deactivate, delete or rotate without retention the key in use, or to take its account's admin role, saying why and how", async () => {
    const me = await loggedInAdmin("ops-admin");
    const refusals = [
      ["service-account", "api-key", "ops-admin", "update", "default", "--active", "false"],
      ["service-account", "api-key", "ops-admin", "delete", "default", "-y"],
      ["service-account", "api-key", "ops-admin", "rotate", "default"],
      ["service-account", "update", "ops-admin", "--active", "no"],
      ["service-account", "update", "ops-admin", "--role", "auditor"],
      ["service-account", "delete", "ops-admin", "-y"],
    ];
    const before = (await admin.get("/v1/events?limit=1000")).body.items.length;
    for (const args of refusals) {
      const answer = await me.run(...args);
      expect(answer.code, args.join(" ")).toBe(1);
      expect(answer.stderr).toContain("logged in with");
      expect(answer.stderr).toContain("--force");
    }
    // Nothing was changed: no event, and the key still works.
    expect((await admin.get("/v1/events?limit=1000")).body.items.length).toBe(before);
    expect((await me.run("whoami")).code).toBe(0);
    // The rotation says how to keep working: --set-key or --retain.
    const rotate = await me.run("service-account", "api-key", "ops-admin", "rotate", "default");
    expect(rotate.stderr).toContain("--set-key");
    expect(rotate.stderr).toContain("--retain");
  });

  it("rotates the key in use with --set-key, storing the new secret in the login, which then works", async () => {
    const me = await loggedInAdmin("rotating-admin");
    const rotated = await me.run("service-account", "api-key", "rotating-admin", "rotate", "default", "--set-key");
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKey = KEY.exec(rotated.stdout)![0];
    expect(newKey).not.toBe(me.key);
    expect(rotated.stderr).toContain("stored in your login");
    const stored = JSON.parse(await readFile(join(me.home, ".config", "keyledger", "config.json"), "utf8"));
    expect(stored.apiKey).toBe(newKey);
    const whoami = await me.run("whoami");
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout).toContain("rotating-admin");
    // The old secret is gone (no retention), so the login had to change.
    expect((await client(daemon.url, me.key).get("/v1/auth/whoami")).status).toBe(401);
  });

  it("rotates with --retain, and switches off with --force", async () => {
    const me = await loggedInAdmin("forceful-admin");
    const retained = await me.run("service-account", "api-key", "forceful-admin", "rotate", "default", "--retain", "5m");
    expect(retained.code, retained.stderr).toBe(0);
    const forced = await me.run(
      "service-account",
      "api-key",
      "forceful-admin",
      "update",
      "default",
      "--active",
      "False",
      "--force",
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect((await admin.get("/v1/service-accounts/forceful-admin/api-keys/default")).body.active).toBe(false);
  });

  it("leaves other keys and accounts alone: switching off another admin's key needs no --force", async () => {
    await admin.post("/v1/service-accounts", { name: "other-admin", roles: ["admin"] });
    const answer = await asAdmin(["service-account", "api-key", "other-admin", "update", "default", "--active", "no"]);
    expect(answer.code, answer.stderr).toBe(0);
  });
});

describe("messages a person would write", () => {
  it("checks names, descriptions, roles and --active locally: exit 2, a plain sentence, nothing sent", async () => {
    const before = (await admin.get("/v1/events?limit=1000")).body.items.length;
    const cases: Array<[string[], RegExp]> = [
      [["service-account", "create", "a".repeat(65)], /65 characters long: a name has at most 64/],
      [["service-account", "create", "_hidden"], /starts with "_": a name starts with a letter or a digit/],
      [["service-account", "create", "has space"], /a character a name cannot have/],
      [
        ["service-account", "create", "ci", "--role", "superuser"],
        /"superuser" is not a role: the roles are admin, auditor, verifier/,
      ],
      [["service-account", "create", "ci", "-d", "x".repeat(1001)], /at most 1000/],
      [["service-account", "api-key", "holder", "create", "x".repeat(70)], /at most 64/],
      [["service-account", "update", "holder", "--active", "maybe"], /true or false \(or yes or no\)/],
      [["service-account", "update", "holder"], /nothing to change/],
      [["service-account", "api-key", "holder", "update", "default"], /nothing to change/],
    ];
    for (const [args, message] of cases) {
      const answer = await asAdmin(args);
      expect(answer.code, args.join(" ")).toBe(2);
      expect(answer.stderr).toMatch(message);
      expect(answer.stderr).not.toMatch(/must NOT|must match pattern/);
    }
    expect((await admin.get("/v1/events?limit=1000")).body.items.length).toBe(before);
  });

  it("takes --active as true/false/yes/no in any case", async () => {
    await admin.post("/v1/service-accounts", { name: "toggled", createApiKey: false });
    for (const [word, active] of [
      ["NO", false],
      ["Yes", true],
      ["FALSE", false],
      ["true", true],
    ] as const) {
      const answer = await asAdmin(["service-account", "update", "toggled", "--active", word, "-o", "json"]);
      expect(answer.code, answer.stderr).toBe(0);
      expect(JSON.parse(answer.stdout).active).toBe(active);
    }
  });

  it("treats a URL with a trailing slash as the same daemon", async () => {
    const home = await tempDir();
    const login = await runCli(["login", `${daemon.url}/`, "--api-key"], {
      env: { PATH: process.env.PATH, HOME: home },
      input: adminKey,
    });
    expect(login.code, login.stderr).toBe(0);
    const stored = JSON.parse(await readFile(join(home, ".config", "keyledger", "config.json"), "utf8"));
    expect(stored.url).toBe(daemon.url);
    const whoami = await runCli(["whoami"], { env: { PATH: process.env.PATH, HOME: home, KEYLEDGER_URL: `${daemon.url}/` } });
    expect(whoami.code, whoami.stderr).toBe(0);
  });

  it("explains that login never takes the key on the command line, without echoing it", async () => {
    const answer = await runCli(["login", daemon.url, "--api-key", adminKey], {
      env: { PATH: process.env.PATH, HOME: await tempDir() },
    });
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain("never from the command line");
    expect(answer.stderr).toContain("--api-key < key-file");
    expect(answer.stdout + answer.stderr).not.toContain(adminKey);
  });

  it("says what can make a refused key, and what to run, when the daemon refuses it", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "switched-off", roles: ["verifier"] });
    const key: string = created.body.apiKey.key;
    await admin.patch("/v1/service-accounts/switched-off/api-keys/default", { active: false });
    const answer = await runCli(["whoami"], {
      env: { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: key },
    });
    expect(answer.code).toBe(1);
    for (const cause of ["deactivated", "deleted", "expired", "rotated"]) expect(answer.stderr).toContain(cause);
    expect(answer.stderr).toContain("keyledger login");
    expect(answer.stderr).not.toContain(key);
  });

  it("says how long to wait when it is told to slow down", async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: await tempDir(),
      KEYLEDGER_URL: daemon.url,
      KEYLEDGER_API_KEY: `kl_${"0".repeat(26)}_${"A".repeat(43)}`,
    };
    let answer: CliResult | undefined;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      answer = await runCli(["whoami"], { env });
      if (/HTTP 429/.test(answer.stderr)) break;
    }
    expect(answer!.stderr).toContain("HTTP 429");
    expect(answer!.stderr).toMatch(/Try again in \d+ seconds?\./);
  });
});

describe("what people think in", () => {
  it("ends service-account create with the two lines a CI job needs", async () => {
    const answer = await asAdmin(["service-account", "create", "ci-job"]);
    expect(answer.code, answer.stderr).toBe(0);
    const lines = answer.stdout.trimEnd().split("\n");
    expect(lines.at(-2)).toBe(`KEYLEDGER_URL=${daemon.url}`);
    expect(lines.at(-1)).toMatch(new RegExp(`^KEYLEDGER_API_KEY=${KEY.source}$`));
  });

  it("shows a key's status, not a bare active flag, and the account by name", async () => {
    await admin.post("/v1/service-accounts", { name: "statuses" });
    await admin.post("/v1/service-accounts/statuses/api-keys", { name: "off" });
    await admin.patch("/v1/service-accounts/statuses/api-keys/off", { active: false });
    await admin.post("/v1/service-accounts/statuses/api-keys/default/rotate", { retainSeconds: 600 });
    const list = await asAdmin(["service-account", "api-key", "statuses", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+ID\s+STATUS/m);
    expect(list.stdout).toMatch(/^off\s+key_\S+\s+inactive/m);
    expect(list.stdout).toMatch(/^default\s+key_\S+\s+retained/m);
    const described = await asAdmin(["service-account", "api-key", "statuses", "describe", "off"]);
    expect(described.stdout).toMatch(/Status:\s+inactive/);
    expect(described.stdout).toMatch(/Service account:\s+statuses \(sa_/);
  });

  it("names accounts and actors in the events table, with ids under --wide and in JSON, and explains gaps", async () => {
    const table = await asAdmin(["events", "--account", "statuses"]);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.split("\n").filter((line) => /^\d+\s/.test(line));
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) {
      expect(row).toContain("statuses");
      expect(row).toContain("admin");
      expect(row).not.toMatch(/sa_[0-9A-Z]{26}/);
    }
    // The whole history skips the stream's other messages (name claims, key statements): said under the table.
    const all = await asAdmin(["events"]);
    const seqs = all.stdout
      .split("\n")
      .filter((line) => /^\d+\s/.test(line))
      .map((line) => Number(line.split(/\s+/)[0]));
    expect(seqs.some((seq, i) => i > 0 && seq !== seqs[i - 1]! + 1)).toBe(true);
    expect(all.stdout.trimEnd().split("\n").at(-1)).toContain("Gaps between sequence numbers");
    const wide = await asAdmin(["events", "--account", "statuses", "--wide"]);
    expect(wide.stdout).toMatch(/statuses \(sa_[0-9A-Z]{26}\)/);
    const json = await asAdmin(["events", "--account", "statuses", "-o", "json"]);
    expect(JSON.parse(json.stdout.split("\n")[0]!).accountId).toMatch(/^sa_/);
  });

  it("finds the events of a deleted account by the name it bore", async () => {
    await admin.post("/v1/service-accounts", { name: "short-lived", createApiKey: false });
    await admin.delete("/v1/service-accounts/short-lived");
    const answer = await asAdmin(["events", "--account", "short-lived"]);
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stdout).toContain("ServiceAccountCreated");
    expect(answer.stdout).toContain("ServiceAccountDeleted");
  });
});
