import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restartable, type TestDaemon } from "../helpers/daemon.js";
import { client } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { dumpLevel } from "../helpers/stream.js";

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

describe("restarting a daemon", () => {
  it("resumes from its checkpoint, and a deleted read model is rebuilt into the same state", async () => {
    const first = await restart();
    const admin = client(first.url, await first.adminKey());
    for (const name of ["alpha", "beta", "gamma"]) {
      expect((await admin.post("/v1/service-accounts", { name, roles: ["auditor"] })).status).toBe(201);
      await admin.post(`/v1/service-accounts/${name}/api-keys`, { name: "second", description: `for ${name}` });
    }
    await admin.post("/v1/service-accounts/beta/api-keys/second/rotate", { retainSeconds: 3600 });
    await admin.patch("/v1/service-accounts/gamma", { active: false, name: "gamma-old" });
    await admin.delete("/v1/service-accounts/alpha/api-keys/second");
    await admin.delete("/v1/service-accounts/alpha");
    const appliedByFirst = first.projector.appliedSinceStart;
    expect(appliedByFirst).toBeGreaterThan(10);
    const before = await dumpLevel(first.readModel.db);
    const checkpoint = first.projector.position;

    // A plain restart replays nothing: the checkpoint already holds everything.
    const second = await restart();
    expect(second.projector.position).toBe(checkpoint);
    expect(second.projector.appliedSinceStart).toBe(0);
    expect(await dumpLevel(second.readModel.db)).toEqual(before);
    const described = await client(second.url, await second.adminKey()).get("/v1/service-accounts/gamma-old");
    expect(described.body).toMatchObject({ name: "gamma-old", active: false });

    // Without its LevelDB directory the daemon replays from sequence 1 into an equal read model.
    await daemons.stop();
    await rm(join(dataDir, "readmodel"), { recursive: true, force: true });
    const third = await restart();
    expect(third.projector.appliedSinceStart).toBe(appliedByFirst); // the first run applied the whole history too
    expect(await dumpLevel(third.readModel.db)).toEqual(before);
    expect((await client(third.url, await third.adminKey()).get("/v1/service-accounts/alpha")).status).toBe(404);
  });
});
