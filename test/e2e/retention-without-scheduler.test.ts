import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, sleep } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { allEvents } from "../helpers/stream.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  // The scheduler ticks once at start (before any rotation), then only an hour later: verification alone must end the retention.
  daemon = await startTestDaemon(nats.url, { "scheduler-interval-ms": "3600000" });
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

describe("retention decided at verification time", () => {
  it("refuses the old secret right after retainedUntil although the scheduler has not run", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    const { key: oldKey } = (await admin.post("/v1/service-accounts", { name: "no-scheduler" })).body.apiKey;
    const rotated = await admin.post("/v1/service-accounts/no-scheduler/api-keys/default/rotate", { retainSeconds: 1 });
    const deadline = Date.parse(rotated.body.retainedUntil);
    expect((await admin.post("/v1/auth/verify", { key: oldKey })).body).toMatchObject({ valid: true, credential: "retained" });
    expect((await client(daemon.url, oldKey).get("/v1/auth/whoami")).body.credential).toBe("retained");
    await sleep(Math.max(0, deadline - Date.now()) + 20);
    expect((await admin.post("/v1/auth/verify", { key: oldKey })).body).toEqual({ valid: false, code: "retention_expired" });
    expect((await client(daemon.url, oldKey).get("/v1/auth/whoami")).status).toBe(401);
    const described = await admin.get("/v1/service-accounts/no-scheduler/api-keys/default");
    expect(described.body.retainedUntil).toBeNull();
    expect((await allEvents(daemon.store)).some((event) => event.type === "ApiKeyRetentionExpired")).toBe(false);
  });
});
