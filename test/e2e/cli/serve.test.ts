import { readFile, symlink } from "node:fs/promises";
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, runCli } from "../../helpers/cli.js";
import { alive, spawnDaemon } from "../../helpers/daemon-process.js";
import { waitUntil } from "../../helpers/http.js";
import { tempDir } from "../../helpers/nats.js";
import { freePort } from "../../helpers/ports.js";

function serve(port: number, dataDir: string) {
  return spawnDaemon(process.execPath, [CLI, "serve", "--port", String(port), "--data-dir", dataDir], port, {
    env: { PATH: process.env.PATH, HOME: dataDir },
  });
}

describe("keyledger serve", () => {
  it("loses no acknowledged write when SIGTERM comes in the middle of a burst of writes", async () => {
    const port = await freePort();
    const dataDir = await tempDir();
    const first = serve(port, dataDir);
    await first.ready;
    const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
    const create = (name: string) =>
      fetch(`http://127.0.0.1:${port}/v1/service-accounts`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      }).then(
        (response) => ({ name, status: response.status }),
        () => ({ name, status: 0 }),
      );
    const burst = Array.from({ length: 40 }, (_, i) => create(`burst-${i}`));
    await Promise.race(burst);
    first.child.kill("SIGTERM");
    const answers = await Promise.all(burst);
    expect(await first.exited).toBe(0);
    const acknowledged = answers.filter((answer) => answer.status === 201).map((answer) => answer.name);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(answers.every((answer) => [201, 0, 503].includes(answer.status))).toBe(true);

    const second = serve(port, dataDir);
    await second.ready;
    for (const name of acknowledged) {
      const found = await fetch(`http://127.0.0.1:${port}/v1/service-accounts/${name}`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      expect(found.status, name).toBe(200);
    }
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("with no NATS configuration starts an embedded nats-server, answers /readyz, and leaves no child after SIGTERM", async () => {
    const port = await freePort();
    const dataDir = await tempDir();
    const daemon = serve(port, dataDir);
    await daemon.ready;
    const output = daemon.output();
    const natsPid = daemon.natsPid();
    expect(alive(natsPid)).toBe(true);
    expect(output).toContain(join(dataDir, "admin.key"));
    // the embedded server admits the daemon only
    const natsUrl = /"natsUrl":"([^"]+)"/.exec(output)![1]!;
    await expect(connect({ servers: natsUrl, reconnect: false })).rejects.toThrow(/Authorization/i);

    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(alive(natsPid)).toBe(false);
    expect(daemon.output()).toContain('"msg":"stopped"');
  });

  it("stops gracefully when Ctrl-C reaches its whole process group: the server under it stops last", async () => {
    const port = await freePort();
    const daemon = serve(port, await tempDir());
    await daemon.ready;
    const natsPid = daemon.natsPid();
    process.kill(-daemon.child.pid!, "SIGINT");
    expect(await daemon.exited).toBe(0);
    expect(daemon.output()).toContain('"msg":"stopped"');
    expect(daemon.output()).not.toContain("error while stopping");
    await waitUntil(() => !alive(natsPid), 10_000);
  });

  it("stops a nats-server left behind by a killed daemon before starting its own on that store", async () => {
    const dataDir = await tempDir();
    const first = serve(await freePort(), dataDir);
    await first.ready;
    const orphan = first.natsPid();
    process.kill(first.child.pid!, "SIGKILL");
    await first.exited;
    expect(alive(orphan)).toBe(true);

    const second = serve(await freePort(), dataDir);
    await second.ready;
    expect(alive(orphan)).toBe(false);
    expect(second.natsPid()).not.toBe(orphan);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("without nats-server on PATH exits non-zero with the command that installs it", async () => {
    const bin = await tempDir("keyledger-path-");
    await symlink(process.execPath, join(bin, "node"));
    const result = await runCli(["serve", "--port", "0", "--data-dir", await tempDir()], { env: { PATH: bin } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("apt-get install -y nats-server");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [["--port", "eighty"], {}, "--port"],
    [["--replicas", "0"], {}, "--replicas"],
    [[], { KEYLEDGER_NATS_URL: "http://nats" }, "KEYLEDGER_NATS_URL"],
    [[], { KEYLEDGER_AUTH_FAILURES_PER_MINUTE: "-5" }, "KEYLEDGER_AUTH_FAILURES_PER_MINUTE"],
  ])("stops at start on a bad setting %j %j, naming it", async (args, env, name) => {
    const result = await runCli(["serve", "--data-dir", await tempDir(), ...args], { env: { PATH: process.env.PATH, ...env } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(name);
  });
});
