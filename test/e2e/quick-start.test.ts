import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alive, spawnDaemon } from "../helpers/daemon-process.js";
import { waitUntil } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

describe("the README's quick start", () => {
  it("`npm start` runs a daemon on an embedded nats-server that answers /readyz, and stops it all on SIGTERM", async () => {
    const readme = await readFile(join(process.cwd(), "README.md"), "utf8");
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm test");

    const port = await freePort();
    const dataDir = await tempDir();
    const daemon = spawnDaemon("npm", ["start", "--silent", "--", "--port", String(port), "--data-dir", dataDir], port, {
      cwd: process.cwd(),
      env: { ...process.env, KEYLEDGER_NATS_URL: "" },
    });
    await daemon.ready;
    const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
    const whoami = await fetch(`http://127.0.0.1:${port}/v1/auth/whoami`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(whoami.status).toBe(200);

    const natsPid = daemon.natsPid();
    expect(natsPid).toBeGreaterThan(0);
    expect(alive(natsPid)).toBe(true);

    daemon.child.kill("SIGTERM");
    await daemon.exited;
    await waitUntil(() => !alive(natsPid), 10_000);
    expect(daemon.output()).not.toContain(adminKey);
  }, 120_000);
});
