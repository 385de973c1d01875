import { createServer, type Server } from "node:http";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;
let fake: Server;
let fakeUrl: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  // Something that answers 200 {} to everything: not keyledger.
  fake = createServer((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end("{}"));
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const address = fake.address();
  fakeUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  fake?.close();
  await daemon?.stop();
  await nats?.stop();
});

const asAdmin = (...args: string[]) =>
  runCli(args, { env: { PATH: process.env.PATH, HOME: "/nonexistent", KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey } });

describe("the command line at its edges", () => {
  it("writes a listing far larger than a pipe's buffer in full", async () => {
    const description = "d".repeat(400);
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          admin.post("/v1/service-accounts", { name: `bulk-${i + j}`, description, createApiKey: false }),
        ),
      );
    }
    const listed = await asAdmin("service-account", "list", "-o", "json");
    expect(listed.code).toBe(0);
    expect(listed.stdout.length).toBeGreaterThan(65_536);
    expect(JSON.parse(listed.stdout).items.length).toBeGreaterThanOrEqual(200);
  });

  it("manages the keys of an account named like a verb, reading ACCOUNT before the verb", async () => {
    await admin.post("/v1/service-accounts", { name: "delete", createApiKey: false });
    const created = await asAdmin("service-account", "api-key", "delete", "create", "k1", "-o", "json");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).name).toBe("k1");
    const listed = await asAdmin("service-account", "api-key", "delete", "list", "-o", "json");
    expect(JSON.parse(listed.stdout).items.map((key: { name: string }) => key.name)).toEqual(["k1"]);
    const unknown = await asAdmin("service-account", "api-key", "delete", "frob");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("frob");
  });

  it.each([
    [["--expires-at", "2030-01-01T00:00:00"], "--expires-at"],
    [["--expires-in", "999999999d"], "--expires-in"],
  ])("refuses %j as a usage error naming the flag", async (flags, name) => {
    const result = await asAdmin("service-account", "api-key", "delete", "create", "k2", ...flags);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(name);
  });

  it("refuses --retain beyond 30 days as a usage error", async () => {
    const result = await asAdmin("service-account", "api-key", "delete", "rotate", "k1", "--retain", "31d");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--retain");
  });

  it("never echoes a credential with control characters", async () => {
    const secret = "kl_SECRETPART1\nkl_SECRETPART2";
    const result = await runCli(["whoami"], {
      env: { PATH: process.env.PATH, KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: secret },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("SECRETPART");
  });

  it("sends the stored key only to the stored URL", async () => {
    const home = await tempDir("keyledger-home-");
    const env = { PATH: process.env.PATH, HOME: home };
    expect((await runCli(["login", daemon.url, "--api-key"], { env, input: adminKey })).code).toBe(0);
    const elsewhere = await runCli(["whoami"], { env: { ...env, KEYLEDGER_URL: fakeUrl } });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain("KEYLEDGER_API_KEY");
  });

  it("tells a server that is not keyledger apart, and stores no login for it", async () => {
    const home = await tempDir("keyledger-home-");
    const login = await runCli(["login", fakeUrl, "--api-key"], { env: { PATH: process.env.PATH, HOME: home }, input: adminKey });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("not keyledger's API");
    await expect(stat(join(home, ".config", "keyledger", "config.json"))).rejects.toThrow();
    const list = await runCli(["service-account", "list"], {
      env: { PATH: process.env.PATH, KEYLEDGER_URL: fakeUrl, KEYLEDGER_API_KEY: adminKey },
    });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain("not keyledger's API");
  });
});
