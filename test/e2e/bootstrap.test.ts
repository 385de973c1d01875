import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restartable, type TestDaemon } from "../helpers/daemon.js";
import { client } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let dataDir: string;
let daemons: ReturnType<typeof restartable>;

beforeAll(async () => {
  nats = await startTestNats();
  dataDir = await tempDir();
  daemons = restartable(nats.url, dataDir);
});

afterAll(async () => {
  await daemons?.stop();
  await nats?.stop();
});

const restart = (): Promise<TestDaemon> => daemons.restart();

const adminKeyFile = () => readFile(join(dataDir, "admin.key"), "utf8").then((text) => text.trim());

describe("the admin bootstrap", () => {
  it("writes the admin key once, mode 0600, and leaves it alone on a restart while it works", async () => {
    await restart();
    const first = await adminKeyFile();
    expect((await stat(join(dataDir, "admin.key"))).mode & 0o777).toBe(0o600);
    const daemon = await restart();
    expect(await adminKeyFile()).toBe(first);
    expect((await client(daemon.url, first).get("/v1/auth/whoami")).status).toBe(200);
  });

  it("gives the admin account a new key on start when no admin credential works any more", async () => {
    let daemon = daemons.current!;
    const lost = await adminKeyFile();
    // the only admin key is switched off: nobody could manage keyledger again
    expect((await client(daemon.url, lost).patch("/v1/service-accounts/admin/api-keys/default", { active: false })).status).toBe(
      200,
    );
    daemon = await restart();
    const recovered = await adminKeyFile();
    expect(recovered).not.toBe(lost);
    const whoami = await client(daemon.url, recovered).get("/v1/auth/whoami");
    expect(whoami.status).toBe(200);
    expect(whoami.body.serviceAccount.name).toBe("admin");
    expect(whoami.body.apiKey.name).toMatch(/^bootstrap-/);
    expect((await client(daemon.url, lost).get("/v1/auth/whoami")).status).toBe(401);
  });
});
