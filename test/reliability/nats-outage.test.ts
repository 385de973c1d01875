import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type EmbeddedNats } from "../../src/nats/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";

let storeDir: string;
let server: EmbeddedNats;
let daemon: TestDaemon;
let admin: Client;

beforeAll(async () => {
  storeDir = await tempDir("keyledger-nats-");
  server = await startNatsServer({ storeDir });
  daemon = await startTestDaemon(server.url);
  admin = client(daemon.url, await daemon.adminKey());
});

afterAll(async () => {
  await daemon?.stop();
  await server?.stop();
});

describe("when NATS goes away and comes back", () => {
  it("is not ready and refuses writes with 503 while reads and verification go on; then recovers", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "survivor" });
    const key: string = created.body.apiKey.key;
    expect((await client(daemon.url).get("/readyz")).status).toBe(200);

    await server.stop();
    await waitUntil(async () => (await client(daemon.url).get("/readyz")).status === 503);
    expect((await client(daemon.url).get("/healthz")).status).toBe(200);

    const refused = await admin.post("/v1/service-accounts", { name: "during-outage" });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("unavailable");
    expect(refused.body.error.message).not.toMatch(/nats|jetstream|10071/i);
    // the read model keeps serving reads and verification
    expect((await admin.get("/v1/service-accounts/survivor")).status).toBe(200);
    expect((await admin.post("/v1/auth/verify", { key })).body.valid).toBe(true);

    const port = Number(new URL(server.url).port);
    server = await startNatsServer({ storeDir, port });
    await waitUntil(async () => (await client(daemon.url).get("/readyz")).status === 200, 20_000);
    const after = await admin.post("/v1/service-accounts", { name: "after-outage" });
    expect(after.status).toBe(201);
    expect((await admin.get("/v1/service-accounts/during-outage")).status).toBe(404);
  }, 60_000);
});
