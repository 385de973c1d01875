import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, runCli } from "../../helpers/cli.js";
import { alive, spawnDaemon } from "../../helpers/daemon-process.js";
import { tempDir } from "../../helpers/nats.js";
import { freePort } from "../../helpers/ports.js";

/** A pretty record (time, level, message…) or an indented line of an error's stack under one. */
const PRETTY = /^(\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) | {4})/;

describe("keyledger serve --log-format pretty", () => {
  it("writes readable lines, no JSON, and never the admin key, even at trace level", async () => {
    const port = await freePort();
    const dataDir = await tempDir();
    const args = ["serve", "--port", String(port), "--data-dir", dataDir, "--log-format", "pretty", "--log-level", "trace"];
    const daemon = spawnDaemon(process.execPath, [CLI, ...args], port, { env: { PATH: process.env.PATH, HOME: dataDir } });
    let stdout = "";
    daemon.child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    const natsPid = (): number => Number(/ INFO {2}embedded nats-server started {2}.*\bpid=(\d+)/.exec(stdout)?.[1]);
    try {
      await daemon.ready;
      const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
      expect(adminKey).toMatch(/^kl_/);
      // The key where a client would put it, and where a careless one might: a body, the query, the path.
      const base = `http://127.0.0.1:${port}`;
      const headers = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
      expect((await fetch(`${base}/v1/service-accounts`, { headers })).status).toBe(200);
      await fetch(`${base}/v1/auth/verify`, { method: "POST", headers, body: JSON.stringify({ key: adminKey }) });
      await fetch(`${base}/v1/service-accounts?cursor=${adminKey}`, { headers });
      await fetch(`${base}/v1/service-accounts/${adminKey}`, { headers });
      await fetch(`${base}/v1/auth/whoami`, { headers: { authorization: `Bearer ${adminKey}x` } });
      expect(stdout, "a pretty line with the embedded nats-server's pid").toMatch(
        / INFO {2}embedded nats-server started {2}.*\bpid=\d+/,
      );
      expect(alive(natsPid())).toBe(true);

      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
      expect(alive(natsPid())).toBe(false);

      const lines = stdout.split("\n").filter((line) => line !== "");
      expect(lines.length).toBeGreaterThan(10);
      for (const line of lines) expect(line).toMatch(PRETTY);
      expect(stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}keyledger is listening {2}url=http:\/\/127\.0\.0\.1:\d+ /m);
      expect(stdout).toMatch(/ DEBUG incoming request {2}.*\breq=\{"method":"GET","path":"\/v1\/service-accounts"/);
      expect(stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}stopped$/m);
      for (const output of [stdout, daemon.output()]) {
        expect(output).not.toContain(adminKey);
        expect(output).not.toContain(adminKey.slice(-43));
      }
    } finally {
      if (alive(natsPid())) process.kill(natsPid(), "SIGKILL");
    }
  });

  it("stops at start on a bad --log-format, naming it", async () => {
    const result = await runCli(["serve", "--data-dir", await tempDir(), "--log-format", "colour"], {
      env: { PATH: process.env.PATH },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--log-format must be one of json, pretty");
  });
});
