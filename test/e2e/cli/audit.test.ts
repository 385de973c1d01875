import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyledgerClient, type EventEnvelope, type ReconnectInfo } from "../../../src/client/index.js";
import { accountSubject } from "../../../src/format/index.js";
import { connectNats } from "../../../src/nats/index.js";
import { ReadModel } from "../../../src/projections/index.js";
import { CLI, runCli, type CliResult } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { spawnDaemon } from "../../helpers/daemon-process.js";
import { client, sleep, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";
import { freePort } from "../../helpers/ports.js";
import { allEvents, dumpLevel } from "../../helpers/stream.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;
const running = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await daemon?.stop();
  await nats?.stop();
});

/** A CI job's shell: the two variables, no stored login. */
const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: "/nonexistent",
  KEYLEDGER_URL: daemon.url,
  KEYLEDGER_API_KEY: adminKey,
});
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: env(), timeoutMs: 60_000 });

/** Lines of NDJSON, each parsed. */
const jsonLines = (text: string): EventEnvelope[] =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as EventEnvelope);

/** `keyledger …` left running (for --follow), with what it printed so far. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: env(), stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdin.end();
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function accountId(name: string): Promise<string> {
  const found = await admin.get(`/v1/service-accounts/${name}`);
  expect(found.status).toBe(200);
  return found.body.id as string;
}

describe("keyledger events", () => {
  let alphaId: string;
  let betaId: string;

  beforeAll(async () => {
    expect((await admin.post("/v1/service-accounts", { name: "alpha", roles: ["verifier"] })).status).toBe(201);
    expect((await admin.post("/v1/service-accounts/alpha/api-keys", { name: "deploy" })).status).toBe(201);
    expect((await admin.post("/v1/service-accounts", { name: "beta", createApiKey: false })).status).toBe(201);
    expect((await admin.post("/v1/service-accounts/alpha/api-keys/deploy/rotate", { retainSeconds: 600 })).status).toBe(200);
    alphaId = await accountId("alpha");
    betaId = await accountId("beta");
  });

  it("lists the whole history as NDJSON with -o json, in stream order, as the stream holds it", async () => {
    const listed = await cli("events", "-o", "json");
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe("");
    const events = jsonLines(listed.stdout);
    const stored = await allEvents(daemon.store);
    expect(events.map((event) => event.seq)).toEqual(stored.map((event) => event.seq));
    expect(events.map((event) => event.hash)).toEqual(stored.map((event) => event.hash));
    expect(events.find((event) => event.type === "ServiceAccountCreated" && event.accountId === alphaId)?.data).toMatchObject({
      name: "alpha",
    });
  });

  it("filters by account (name or id), by type and by --after, and combines them", async () => {
    const all = jsonLines((await cli("events", "-o", "json")).stdout);

    const byName = jsonLines((await cli("events", "--account", "alpha", "-o", "json")).stdout);
    expect(byName.map((event) => event.seq)).toEqual(
      all.filter((event) => event.accountId === alphaId).map((event) => event.seq),
    );
    expect(byName.map((event) => event.type)).toEqual([
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ApiKeyCreated",
      "ApiKeyRotated",
    ]);
    const byId = jsonLines((await cli("events", "--account", betaId, "-o", "json")).stdout);
    expect(byId.map((event) => event.type)).toEqual(["ServiceAccountCreated"]);

    const keys = jsonLines((await cli("events", "--type", "ApiKeyCreated", "-o", "json")).stdout);
    expect(keys.map((event) => event.seq)).toEqual(
      all.filter((event) => event.type === "ApiKeyCreated").map((event) => event.seq),
    );

    const after = all[2]!.seq;
    const later = jsonLines((await cli("events", "--after", String(after), "-o", "json")).stdout);
    expect(later.map((event) => event.seq)).toEqual(all.filter((event) => event.seq > after).map((event) => event.seq));

    const combined = jsonLines(
      (await cli("events", "--account", "alpha", "--type", "ApiKeyCreated", "--after", String(byName[1]!.seq), "-o", "json"))
        .stdout,
    );
    expect(combined.map((event) => event.seq)).toEqual([byName[2]!.seq]);
  });

  it("prints an aligned table to a terminal's eyes, and says so when nothing matches", async () => {
    const table = await cli("events", "--account", "alpha");
    expect(table.code).toBe(0);
    const [header, ...lines] = table.stdout.trimEnd().split("\n");
    const rows = lines.filter((line) => /^\d+\s/.test(line));
    expect(header).toMatch(/^SEQ\s+TIME\s+TYPE\s+ACCOUNT\s+ACTOR\s+SUMMARY$/);
    expect(rows).toHaveLength(4);
    // Accounts by name, aligned under the header (ids with --wide and in JSON).
    for (const row of rows) expect(row.indexOf(" alpha ") + 1).toBe(header!.indexOf("ACCOUNT"));
    expect(table.stdout).not.toContain(alphaId);
    expect(rows[0]).toContain("name alpha, roles verifier");
    expect(rows[3]).toMatch(/ApiKeyRotated .*generation 1, old secret until /);
    expect(table.stdout).not.toContain("sha256:");

    const none = await cli("events", "--type", "ApiKeyRetentionExpired");
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe("No events.");
    expect((await cli("events", "--type", "ApiKeyRetentionExpired", "-o", "json")).stdout).toBe("");
  });

  it("fails (exit 1) on an account that does not exist, with the API's message", async () => {
    const missing = await cli("events", "--account", "nobody");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/service account .*not found|not_found/);
  });

  it("pages through a history of more than one page (1000 events a page) without losing or repeating one", async () => {
    for (let i = 0; i < 1100; i += 50) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, j) => admin.post("/v1/service-accounts", { name: `bulk-${i + j}`, createApiKey: false })),
      );
      expect(answers.every((answer) => answer.status === 201)).toBe(true);
    }
    const stored = await allEvents(daemon.store);
    expect(stored.length).toBeGreaterThan(1100);
    const listed = await cli("events", "-o", "json");
    expect(listed.code).toBe(0);
    expect(jsonLines(listed.stdout).map((event) => event.seq)).toEqual(stored.map((event) => event.seq));

    const created = jsonLines((await cli("events", "--type", "ServiceAccountCreated", "-o", "json")).stdout);
    const expected = stored.filter((event) => event.type === "ServiceAccountCreated").map((event) => event.seq);
    expect(expected.length).toBeGreaterThan(1000);
    expect(created.map((event) => event.seq)).toEqual(expected);
  }, 120_000);

  it("--follow prints the history, then events appended after it started, and exits 0 on SIGTERM", async () => {
    const follower = startCli(["events", "--follow", "--account", "alpha", "-o", "json"]);
    await waitUntil(() => jsonLines(follower.stdout()).length === 4, 15_000);
    // Appended while it follows: one of alpha's (shown), one of beta's (filtered out).
    expect((await admin.patch("/v1/service-accounts/beta", { description: "not followed" })).status).toBe(200);
    expect((await admin.patch("/v1/service-accounts/alpha", { description: "followed" })).status).toBe(200);
    await waitUntil(() => jsonLines(follower.stdout()).length === 5, 15_000);
    await sleep(300);
    follower.child.kill("SIGTERM");
    expect(await follower.exited).toBe(0);
    const events = jsonLines(follower.stdout());
    expect(events).toHaveLength(5);
    expect(events.at(-1)).toMatchObject({ type: "ServiceAccountUpdated", accountId: alphaId, data: { description: "followed" } });
    expect(new Set(events.map((event) => event.seq)).size).toBe(5);
    expect(events.every((event) => event.accountId === alphaId)).toBe(true);
    expect(follower.stderr()).toBe(""); // piped: no progress, no notices
  });

  it("--follow in a table keeps going from --after, and stops on SIGINT with exit 0", async () => {
    const head = (await allEvents(daemon.store)).at(-1)!.seq;
    const follower = startCli(["events", "--follow", "--after", String(head), "--type", "ApiKeyDeactivated"]);
    await sleep(1000);
    expect((await admin.patch("/v1/service-accounts/alpha/api-keys/default", { active: false })).status).toBe(200);
    await waitUntil(() => follower.stdout().includes("ApiKeyDeactivated"), 15_000);
    follower.child.kill("SIGINT");
    expect(await follower.exited).toBe(0);
    const [header, row, ...rest] = follower.stdout().trimEnd().split("\n");
    expect(header).toMatch(/^SEQ\s+TIME\s+TYPE/);
    expect(row).toMatch(/ApiKeyDeactivated/);
    expect(rest).toEqual([]);
  });

  it("refuses a bad --type or --after with exit 2, naming the flag, before sending anything", async () => {
    const type = await cli("events", "--type", "KeyRotated");
    expect(type.code).toBe(2);
    expect(type.stderr).toContain("--type must be one of");
    expect(type.stderr).toContain("ApiKeyRotated");
    for (const value of ["-1", "1.5", "ten"]) {
      const after = await cli("events", "--after", value);
      expect(after.code, value).toBe(2);
      expect(after.stderr).toContain("--after must be a stream sequence");
    }
    expect(type.stdout).toBe("");
  });
});

describe("keyledger audit", () => {
  it("verify: exit 0 and a one-line verdict when the stream checks out; -o json prints the report", async () => {
    const verified = await cli("audit", "verify");
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^OK: [\d,]+ events checked up to seq [\d,]+, .*no problems\.\n$/);
    expect(verified.stderr).toBe(""); // piped: no progress

    const json = await cli("audit", "verify", "-o", "json");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, problems: [], truncated: false });
    expect(report.checked).toBe((await allEvents(daemon.store)).length);
  });

  it("verify shows its progress on a terminal, rewritten in place", async () => {
    const command = [process.execPath, CLI, "audit", "verify"].map((part) => `'${part}'`).join(" ");
    const screen = await new Promise<string>((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { env: env(), stdio: ["pipe", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      child.once("error", reject);
      child.once("close", () => resolve(text));
      child.stdin.end();
    });
    expect(screen).toMatch(/\r\x1b\[2Kchecking: seq [\d,]+ of [\d,]+ \(\d+%\), [\d,]+ events checked, 0 problems/);
    expect(screen).toContain("\r\x1b[2KOK: ");
  });

  it("state --as-of shows a key's status at an earlier sequence or time, differing from now", async () => {
    await admin.post("/v1/service-accounts", { name: "gamma", createApiKey: false });
    await admin.post("/v1/service-accounts/gamma/api-keys", { name: "ci" });
    const gammaId = await accountId("gamma");
    const created = jsonLines((await cli("events", "--account", "gamma", "-o", "json")).stdout).at(-1)!;
    expect(created.type).toBe("ApiKeyCreated");
    await sleep(1100);
    const between = new Date().toISOString();
    await sleep(1100);
    expect((await admin.patch("/v1/service-accounts/gamma/api-keys/ci", { active: false })).status).toBe(200);

    const keyOf = (state: { serviceAccounts: Array<{ id: string; apiKeys: Array<{ name: string; status: string }> }> }) =>
      state.serviceAccounts.find((account) => account.id === gammaId)?.apiKeys.find((key) => key.name === "ci");
    const then = await cli("audit", "state", "--as-of", String(created.seq), "-o", "json");
    expect(then.code).toBe(0);
    const thenState = JSON.parse(then.stdout);
    expect(thenState.asOf.seq).toBe(created.seq);
    expect(keyOf(thenState)?.status).toBe("active");

    const atTime = JSON.parse((await cli("audit", "state", "--as-of", between, "-o", "json")).stdout);
    expect(keyOf(atTime)?.status).toBe("active");
    const head = (await allEvents(daemon.store)).at(-1)!.seq;
    const now = JSON.parse((await cli("audit", "state", "--as-of", String(head), "-o", "json")).stdout);
    expect(keyOf(now)?.status).toBe("inactive");

    const table = await cli("audit", "state", "--as-of", String(created.seq));
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^As of seq [\\d,]+ \\(.+\\): [\\d,]+ service accounts\\.`));
    expect(table.stdout).toMatch(/ACCOUNT\s+ACTIVE\s+ROLES\s+KEY\s+KEY ID\s+STATUS\s+EXPIRES\s+OLD SECRET/);
    expect(table.stdout).toMatch(/\ngamma\s+true\s+-\s+ci\s+key_\w+\s+active\s/);
    expect((await cli("audit", "state", "--as-of", String(head))).stdout).toMatch(
      /\ngamma\s+true\s+-\s+ci\s+key_\w+\s+inactive\s/,
    );

    // The same point through service-account describe and list.
    const described = await cli("service-account", "describe", "gamma", "--as-of", String(created.seq));
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^As of seq /);
    expect(described.stdout).toMatch(/\nci\s+key_\w+\s+active\s/);
    const listed = JSON.parse(
      (await cli("service-account", "list", "--as-of", String(created.seq), "--name", "gamma", "-o", "json")).stdout,
    );
    expect(listed).toMatchObject({ items: [{ name: "gamma" }], asOf: { seq: created.seq } });
    const before = JSON.parse((await cli("service-account", "list", "--as-of", "1", "--name", "gamma", "-o", "json")).stdout);
    expect(before.items).toEqual([]);
  });

  it("refuses a bad or missing --as-of with exit 2 naming the flag; a sequence past the head is the API's 400 (exit 1)", async () => {
    for (const value of ["yesterday", "2030-01-31", "-5", "12:00"]) {
      const bad = await cli("audit", "state", "--as-of", value);
      expect(bad.code, value).toBe(2);
      expect(bad.stderr).toContain("--as-of must be an ISO-8601 time with its zone");
    }
    const missing = await cli("audit", "state");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--as-of");
    const describe = await cli("service-account", "describe", "alpha", "--as-of", "soon");
    expect(describe.code).toBe(2);
    expect(describe.stderr).toContain("--as-of");
    const future = await cli("audit", "state", "--as-of", "99999999");
    expect(future.code).toBe(1);
    expect(future.stderr).toContain("invalid_request");
  });

  it("verify: exit 1 when the stream holds something no daemon wrote, listing its sequence and reason", async () => {
    const nc = await connectNats(nats.url, "intruder");
    const seq = (await jetstream(nc).publish(accountSubject(await accountId("beta")), "not an event")).seq;
    await nc.close();
    const verified = await cli("audit", "verify");
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/^1 problem found: /);
    expect(verified.stdout).toMatch(new RegExp(`\\n${seq}\\s+\\S`));
    expect(verified.stderr).toContain("keyledger: the audit found 1 problem");
    const json = await cli("audit", "verify", "-o", "json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ seq }] });
  });
});

/** A loopback TCP proxy in front of the daemon that records what clients send and can cut every connection. */
async function httpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let server: Server | null = null;
  let port = 0;
  const listen = async (): Promise<void> => {
    const next = createServer((downstream) => {
      const upstream = connect(targetPort, "127.0.0.1");
      let head = "";
      downstream.on("data", (chunk: Buffer) => {
        if (head === "") requests.push((head = chunk.toString("latin1")));
      });
      for (const socket of [downstream, upstream]) {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      downstream.once("close", () => upstream.destroy());
      upstream.once("close", () => downstream.destroy());
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    await new Promise<void>((resolve) => next.listen(port, "127.0.0.1", resolve));
    port = (next.address() as { port: number }).port;
    server = next;
  };
  await listen();
  return {
    url: () => `http://127.0.0.1:${port}`,
    requests,
    async cut(): Promise<void> {
      const closing = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      if (closing !== null) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    restore: listen,
  };
}

describe("KeyledgerClient.followEvents against a daemon", () => {
  it("resumes with Last-Event-ID after the connection drops: every event once, none twice", async () => {
    const proxy = await httpProxy(Number(new URL(daemon.url).port));
    const sdk = new KeyledgerClient({ url: proxy.url(), credential: adminKey });
    const start = (await allEvents(daemon.store)).at(-1)!.seq;
    const controller = new AbortController();
    const received: EventEnvelope[] = [];
    const reconnects: ReconnectInfo[] = [];
    const following = (async () => {
      for await (const event of sdk.followEvents({
        after: start,
        signal: controller.signal,
        onReconnect: (info) => reconnects.push(info),
      }))
        received.push(event);
    })();
    try {
      await admin.post("/v1/service-accounts", { name: "before-the-cut" });
      await waitUntil(() => received.length === 2, 15_000);
      const lastBeforeCut = received.at(-1)!.seq;

      await proxy.cut();
      await admin.post("/v1/service-accounts", { name: "during-the-cut" });
      await sleep(1500); // at least one attempt to reconnect finds nothing listening
      await proxy.restore();
      await admin.post("/v1/service-accounts", { name: "after-the-cut" });
      await waitUntil(() => received.length === 6, 20_000);
      await sleep(300);

      const stored = (await allEvents(daemon.store)).filter((event) => event.seq > start);
      expect(received.map((event) => event.seq)).toEqual(stored.map((event) => event.seq));
      expect(received.map((event) => event.hash)).toEqual(stored.map((event) => event.hash));
      expect(reconnects.length).toBeGreaterThanOrEqual(2);
      expect(reconnects[0]!.lastEventId).toBe(String(lastBeforeCut));
      const resumed = proxy.requests.filter((request) => request.startsWith("GET /v1/events/stream"));
      expect(resumed[0]).toContain(`?after=${start} `);
      expect(resumed.at(-1)).toMatch(new RegExp(`\\r\\nlast-event-id: ${lastBeforeCut}\\r\\n`, "i"));
    } finally {
      controller.abort();
      await following;
      await proxy.cut();
    }
  });
});

describe("keyledger projections rebuild", () => {
  it("rebuilds a stopped daemon's read model equal to the one it had, and refuses while the daemon runs", async () => {
    const port = await freePort();
    const dataDir = await tempDir("keyledger-rebuild-");
    const serveEnv = { PATH: process.env.PATH, HOME: dataDir };
    const served = spawnDaemon(process.execPath, [CLI, "serve", "--port", String(port), "--data-dir", dataDir], port, {
      env: serveEnv,
    });
    await served.ready;
    const key = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
    const api = client(`http://127.0.0.1:${port}`, key);
    for (const name of ["one", "two", "three"]) {
      expect((await api.post("/v1/service-accounts", { name, roles: ["auditor"] })).status).toBe(201);
      await api.post(`/v1/service-accounts/${name}/api-keys`, { name: "second", expiresAt: "2031-01-01T00:00:00Z" });
    }
    await api.post("/v1/service-accounts/two/api-keys/second/rotate", { retainSeconds: 3600 });
    await api.patch("/v1/service-accounts/three", { active: false, name: "three-old" });
    await api.delete("/v1/service-accounts/one/api-keys/second");
    await api.delete("/v1/service-accounts/one");

    const rebuild = (...args: string[]) =>
      runCli(["projections", "rebuild", ...args], { env: { ...serveEnv, KEYLEDGER_DATA_DIR: dataDir }, timeoutMs: 60_000 });
    const refused = await rebuild();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("stop the daemon first");
    // The refusal touched nothing: the daemon and its embedded nats-server still serve and write.
    expect((await api.post("/v1/service-accounts", { name: "after-the-refusal" })).status).toBe(201);
    const events = jsonLines(
      (
        await runCli(["events", "-o", "json"], {
          env: { ...serveEnv, KEYLEDGER_URL: `http://127.0.0.1:${port}`, KEYLEDGER_API_KEY: key },
        })
      ).stdout,
    );
    expect(events.length).toBeGreaterThan(15);

    served.child.kill("SIGTERM");
    expect(await served.exited).toBe(0);
    const path = join(dataDir, "readmodel");
    const before = await dumpOf(path);
    expect(before.length).toBeGreaterThan(20);
    // Damage it, so that only a real rebuild gives it back.
    const db = new Level<string, unknown>(path, { valueEncoding: "json" });
    await db.open();
    const doomed = before.filter(([entry]) => entry.startsWith("acct!") || entry.startsWith("key!")).slice(0, 3);
    await db.batch([
      ...doomed.map(([entry]) => ({ type: "del" as const, key: entry })),
      { type: "put" as const, key: "acct!sa_01BOGUS0000000000000000000", value: { bogus: true } },
    ]);
    await db.close();
    expect(await dumpOf(path)).not.toEqual(before);

    const rebuilt = await rebuild();
    expect(rebuilt.stderr).toBe(""); // piped: no progress, no log lines
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout.split("\n")[0]).toBe(
      `Rebuilt the read model in ${dataDir}: ${events.length} events applied, up to seq ${events.at(-1)!.seq}.`,
    );
    expect(await dumpOf(path)).toEqual(before);

    const json = await runCli(["projections", "rebuild", "--data-dir", dataDir, "-o", "json"], {
      env: serveEnv,
      timeoutMs: 60_000,
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      dataDir,
      head: events.at(-1)!.seq,
      position: events.at(-1)!.seq,
      applied: events.length,
      skipped: [],
      vouched: expect.any(Number),
      signaturesChecked: expect.any(Number),
    });
    expect(await dumpOf(path)).toEqual(before);
  }, 120_000);

  it("refuses a directory that holds no read model, and a bad setting with exit 2", async () => {
    const empty = await tempDir("keyledger-empty-");
    const notData = await runCli(["projections", "rebuild", "--data-dir", empty], { env: { PATH: process.env.PATH } });
    expect(notData.code).toBe(1);
    expect(notData.stderr).toContain("holds no read model");
    const badStream = await runCli(["projections", "rebuild", "--data-dir", empty, "--stream", "no spaces"], {
      env: { PATH: process.env.PATH },
    });
    expect(badStream.code).toBe(2);
    expect(badStream.stderr).toContain("--stream");
    const badEnv = await runCli(["projections", "rebuild", "--data-dir", empty], {
      env: { PATH: process.env.PATH, KEYLEDGER_NATS_URL: "http://not-nats" },
    });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("KEYLEDGER_NATS_URL");
  });
});

async function dumpOf(path: string): Promise<Array<[string, string]>> {
  const readModel = await ReadModel.open(path);
  try {
    return await dumpLevel(readModel.db);
  } finally {
    await readModel.close();
  }
}
