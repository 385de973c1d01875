import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

const groups: number[] = [];
afterAll(() => {
  // Whatever happened, leave no daemon or nats-server behind: each child leads its own process group.
  for (const pid of groups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the README's quick start", () => {
  it("`npm start` runs a daemon on an embedded nats-server that answers /readyz, and stops it all on SIGTERM", async () => {
    const readme = await readFile(join(process.cwd(), "README.md"), "utf8");
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm test");

    const port = await freePort();
    const dataDir = await tempDir();
    const child = spawn("npm", ["start", "--silent", "--", "--port", String(port), "--data-dir", dataDir], {
      cwd: process.cwd(),
      env: { ...process.env, KEYLEDGER_NATS_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    groups.push(child.pid!);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    await waitUntil(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      90_000,
      200,
    );
    const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
    const whoami = await fetch(`http://127.0.0.1:${port}/v1/auth/whoami`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(whoami.status).toBe(200);

    const natsPid = Number(
      /"msg":"embedded nats-server started"/.test(output)
        ? /"pid":(\d+),"msg":"embedded nats-server started"/.exec(output)?.[1]
        : NaN,
    );
    expect(natsPid).toBeGreaterThan(0);
    expect(alive(natsPid)).toBe(true);

    child.kill("SIGTERM");
    await exited;
    await waitUntil(() => !alive(natsPid), 10_000);
    expect(output).not.toContain(adminKey);
  }, 120_000);
});
