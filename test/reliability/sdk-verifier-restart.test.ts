import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier, type RevocationSeen, type Verifier } from "../../src/client/index.js";
import { startNatsServer, type EmbeddedNats } from "../../src/nats/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";

let storeDir: string;
let server: EmbeddedNats;
let daemon: TestDaemon;
let admin: Client;
let verifier: Verifier | undefined;

beforeAll(async () => {
  storeDir = await tempDir("keyledger-nats-");
  server = await startNatsServer({ storeDir });
  daemon = await startTestDaemon(server.url);
  admin = client(daemon.url, await daemon.adminKey());
});

afterAll(async () => {
  await verifier?.close();
  await daemon?.stop();
  await server?.stop();
});

describe("the SDK verifier when nats-server restarts", () => {
  it("distrusts its cache while NATS is gone, then follows the feed again on a new consumer", async () => {
    const verifierKey: string = (await admin.post("/v1/service-accounts", { name: "restart-verifier", roles: ["verifier"] })).body
      .apiKey.key;
    const created = await admin.post("/v1/service-accounts", { name: "restart-survivor" });
    const { key, id: keyId } = created.body.apiKey;
    const revocations: RevocationSeen[] = [];
    const requests: string[] = [];
    verifier = createVerifier({
      url: daemon.url,
      apiKey: verifierKey,
      natsUrl: server.url,
      onRevocation: (event) => revocations.push(event),
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
    });
    await verifier.ready();
    expect((await verifier.verify(key)).valid).toBe(true);
    expect((await verifier.verify(key)).valid).toBe(true);
    expect(requests.length).toBe(1);

    await server.stop();
    await waitUntil(() => verifier!.status().feed === "connecting", 5000, 10);
    expect(verifier.status().trusted).toBe(false);
    // the daemon still answers from its read model: the cached key is asked again
    expect((await verifier.verify(key)).valid).toBe(true);
    expect(requests.length).toBe(2);

    server = await startNatsServer({ storeDir, port: Number(new URL(server.url).port) });
    await waitUntil(async () => (await client(daemon.url).get("/readyz")).status === 200, 20_000);
    await waitUntil(() => verifier!.status().trusted, 20_000, 20);

    expect((await admin.patch("/v1/service-accounts/restart-survivor/api-keys/default", { active: false })).status).toBe(200);
    await waitUntil(() => revocations.some((event) => event.keyId === keyId), 5000, 10);
    expect(revocations.find((event) => event.keyId === keyId)?.dropped).toBe(1);
    expect(await verifier.verify(key)).toEqual({ valid: false, code: "inactive_key" });
  }, 60_000);
});
