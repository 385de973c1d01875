import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");
const EXAMPLES = join(ROOT, "examples");

let nats: TestNats;
let daemon: TestDaemon;
let admin: ReturnType<typeof client>;
const children: ChildProcess[] = [];

/** Starts an example as its own process, as a user would run it; resolves once `url` answers at all. */
async function startExample(file: string, env: Record<string, string>, url: string): Promise<void> {
  const child = spawn(process.execPath, [join(EXAMPLES, file)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: "ignore",
  });
  children.push(child);
  await waitUntil(
    () =>
      fetch(url).then(
        () => true,
        () => false,
      ),
    20_000,
    50,
  );
}

async function account(name: string, roles: string[]): Promise<{ id: string; keyId: string; key: string }> {
  const created = await admin.post("/v1/service-accounts", { name, roles });
  expect(created.status).toBe(201);
  return { id: created.body.serviceAccount.id, keyId: created.body.apiKey.id, key: created.body.apiKey.key };
}

beforeAll(async () => {
  // The examples import @keyledger/client: the workspace package, built here.
  await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "packages", "client")]);
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await daemon?.stop();
  await nats?.stop();
});

describe("examples/fastify-service", () => {
  it("serves a caller with a valid key, refuses one without, and refuses a key deactivated since (through the feed)", async () => {
    const service = await account("example-verifier", ["verifier"]);
    const caller = await account("example-caller", ["auditor"]);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hello`;
    await startExample(
      "fastify-service/server.mjs",
      { KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: service.key, NATS_URL: nats.url, PORT: String(port) },
      url,
    );
    expect((await fetch(url)).status).toBe(401);
    const served = await fetch(url, { headers: { authorization: `Bearer ${caller.key}` } });
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ hello: "example-caller", roles: ["auditor"] });
    const health = `http://127.0.0.1:${port}/healthz`;
    type Status = { feed: string; position: number; cachedEntries: number };
    const before = (await (await fetch(health)).json()) as Status;
    expect(before).toMatchObject({ feed: "live", trusted: true, cachedEntries: 1 });
    expect((await admin.patch(`/v1/service-accounts/${caller.id}/api-keys/${caller.keyId}`, { active: false })).status).toBe(200);
    await waitUntil(
      async () => (await fetch(url, { headers: { authorization: `Bearer ${caller.key}` } })).status === 401,
      10_000,
      50,
    );
    // The feed brought the revocation (its position moved on) and the cached answer went with it.
    const after = (await (await fetch(health)).json()) as Status;
    expect(after.position).toBeGreaterThan(before.position);
    expect(after.cachedEntries).toBe(0);
  });
});

describe("examples/token-service and examples/ci-job", () => {
  let serviceUrl: string;
  let job: { id: string; keyId: string; key: string };

  beforeAll(async () => {
    job = await account("example-ci-job", ["auditor"]);
    const port = await freePort();
    serviceUrl = `http://127.0.0.1:${port}`;
    await startExample("token-service/server.mjs", { KEYLEDGER_URL: daemon.url, PORT: String(port) }, serviceUrl);
  });

  it("the token service accepts a token from POST /v1/auth/token, checked offline, and refuses a forged or missing one", async () => {
    const token: string = (await client(daemon.url, job.key).post("/v1/auth/token")).body.accessToken;
    const served = await fetch(serviceUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ hello: "example-ci-job", account: job.id, roles: ["auditor"] });
    const forged = await fetch(serviceUrl, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: "token refused: bad_signature" });
    expect((await fetch(serviceUrl)).status).toBe(401);
    // The key itself is not a token: the service never takes it.
    expect((await fetch(serviceUrl, { headers: { authorization: `Bearer ${job.key}` } })).status).toBe(401);
  });

  it("the CI job exchanges KEYLEDGER_API_KEY for a token and calls the service with it, and says what is missing", async () => {
    const env = { PATH: process.env.PATH!, KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: job.key, SERVICE_URL: serviceUrl };
    const { stdout, stderr } = await run("sh", [join(EXAMPLES, "ci-job", "ci-job.sh")], { env });
    expect(JSON.parse(stdout)).toEqual({ hello: "example-ci-job", account: job.id, roles: ["auditor"] });
    expect(stdout + stderr).not.toContain(job.key);
    const missing = await run("sh", [join(EXAMPLES, "ci-job", "ci-job.sh")], { env: { ...env, KEYLEDGER_API_KEY: "" } }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("KEYLEDGER_API_KEY");
  });

  it("the GitHub Actions workflow runs the same script with the key from a secret", async () => {
    const workflow = parse(await readFile(join(EXAMPLES, "ci-job", ".github", "workflows", "deploy.yml"), "utf8"));
    const steps = Object.values(
      workflow.jobs as Record<string, { steps: Array<{ run?: string; env?: Record<string, string> }> }>,
    )[0]!.steps;
    const step = steps.find((candidate) => candidate.run?.includes("ci-job.sh"))!;
    expect(step.run).toBe("sh examples/ci-job/ci-job.sh");
    expect(step.env).toEqual({
      KEYLEDGER_URL: "${{ vars.KEYLEDGER_URL }}",
      KEYLEDGER_API_KEY: "${{ secrets.KEYLEDGER_API_KEY }}",
      SERVICE_URL: "${{ vars.SERVICE_URL }}",
    });
  });
});
