import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { holdProjector } from "../helpers/hold-projector.js";

let nats: TestNats;
let lagging: TestDaemon;
let writer: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  lagging = await startTestDaemon(nats.url, { "ready-max-lag": "5" });
  // Shares the first daemon's signing key, as the daemons of the compose deployment do.
  writer = await startTestDaemon(nats.url, {}, { signer: lagging.signer });
});

afterAll(async () => {
  await writer?.stop();
  await lagging?.stop();
  await nats?.stop();
});

describe("GET /readyz and the projection lag", () => {
  it("answers 503 while the read model is more than --ready-max-lag behind the stream, and 200 once it caught up", async () => {
    const ready = client(lagging.url);
    await waitUntil(async () => (await ready.get("/readyz")).status === 200);
    const before = await ready.get("/readyz");
    expect(before.body).toMatchObject({ status: "ready", lag: 0, checks: { projectionLag: true, readModel: true } });

    const hold = holdProjector(lagging);
    try {
      const admin = client(writer.url, await lagging.adminKey());
      expect((await admin.post("/v1/service-accounts", { name: "lag-maker" })).status).toBe(201);
      for (let i = 0; i < 8; i++)
        expect((await admin.patch("/v1/service-accounts/lag-maker", { description: `step ${i}` })).status).toBe(200);

      // The head is asked for once a second: the lag shows within a few.
      await waitUntil(async () => (await ready.get("/readyz")).status === 503, 10_000, 100);
      const behind = await ready.get("/readyz");
      expect(behind.body.status).toBe("not ready");
      expect(behind.body.checks).toMatchObject({ eventStore: true, projectionLag: false });
      expect(behind.body.lag).toBeGreaterThan(5);
      // Reads still answer meanwhile (from what the read model holds).
      expect((await client(lagging.url, await lagging.adminKey()).get("/v1/service-accounts")).status).toBe(200);
    } finally {
      hold.release();
      hold.restore();
    }
    await waitUntil(async () => (await ready.get("/readyz")).status === 200, 10_000, 100);
    expect((await ready.get("/readyz")).body).toMatchObject({ status: "ready", lag: 0 });
  });

  it("stays ready while the lag is within the bound", async () => {
    const admin = client(writer.url, await lagging.adminKey());
    expect((await admin.patch("/v1/service-accounts/lag-maker", { description: "one more" })).status).toBe(200);
    const answer = await client(lagging.url).get("/readyz");
    expect(answer.status).toBe(200);
    expect(answer.body.lag).toBeLessThanOrEqual(5);
  });
});
