import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, sleep, waitUntil } from "../helpers/http.js";
import { holdProjector } from "../helpers/hold-projector.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "scheduler-interval-ms": "200" });
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/** The value of one sample of the exposition text (0 when it is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").filter((pair) => pair !== "");
    if (wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return 0;
}

async function scrape(): Promise<string> {
  const answer = await fetch(`${daemon.url}/metrics`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get("content-type")).toContain("text/plain");
  return answer.text();
}

describe("GET /metrics (Prometheus text)", () => {
  it("counts verifications by result, and requests by route in the latency histogram", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    const created = await admin.post("/v1/service-accounts", { name: "metered", roles: ["verifier"] });
    const key: string = created.body.apiKey.key;
    const verifier = client(daemon.url, key);
    const before = await scrape();

    for (let i = 0; i < 3; i++) expect((await verifier.post("/v1/auth/verify", { key })).body.valid).toBe(true);
    const unknown = `kl_${"0".repeat(26)}_${"A".repeat(43)}`;
    expect((await verifier.post("/v1/auth/verify", { key: unknown })).body).toMatchObject({ valid: false, code: "not_found" });

    const after = await scrape();
    const valid = { result: "valid" };
    expect(sample(after, "keyledger_verifications_total", valid) - sample(before, "keyledger_verifications_total", valid)).toBe(
      3,
    );
    const notFound = { result: "not_found" };
    expect(
      sample(after, "keyledger_verifications_total", notFound) - sample(before, "keyledger_verifications_total", notFound),
    ).toBe(1);
    const route = { method: "POST", route: "/v1/auth/verify", status_code: "200" };
    const count = (text: string) => sample(text, "keyledger_http_request_duration_seconds_count", route);
    expect(count(after) - count(before)).toBe(4);
    expect(sample(after, "keyledger_http_request_duration_seconds_bucket", { ...route, le: "+Inf" })).toBe(count(after));
    // Routes are labelled by their pattern, never by the path a client sent.
    expect(after).toContain('route="/v1/service-accounts"');
    expect(after).not.toContain("metered");
  });

  it("counts events appended by type, and shows the projection's position and lag and the NATS connection", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    const before = await scrape();
    expect((await admin.post("/v1/service-accounts", { name: "metered-2" })).status).toBe(201);
    expect((await admin.patch("/v1/service-accounts/metered-2/api-keys/default", { description: "x" })).status).toBe(200);
    const after = await scrape();
    const appended = (text: string, type: string) => sample(text, "keyledger_events_appended_total", { type });
    expect(appended(after, "ServiceAccountCreated") - appended(before, "ServiceAccountCreated")).toBe(1);
    expect(appended(after, "ApiKeyCreated") - appended(before, "ApiKeyCreated")).toBe(1);
    expect(appended(after, "ApiKeyUpdated") - appended(before, "ApiKeyUpdated")).toBe(1);
    expect(sample(after, "keyledger_projection_position")).toBe(daemon.projector.position);
    expect(sample(after, "keyledger_projection_position")).toBeGreaterThan(sample(before, "keyledger_projection_position"));
    expect(sample(after, "keyledger_projection_lag")).toBeGreaterThanOrEqual(0);
    expect(sample(after, "keyledger_nats_connected")).toBe(1);
  });

  it("counts the events the projector applied and the LevelDB batches it wrote them in: writes that arrive together share one", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    const names = Array.from({ length: 32 }, (_, index) => `grouped-${index}`);
    for (const name of names) expect((await admin.post("/v1/service-accounts", { name, createApiKey: false })).status).toBe(201);
    const before = await scrape();
    // 32 writes at once, each answered only once this daemon's read model holds it (read-your-writes).
    // The projector's writes are held until all 32 are in the stream (on a busy machine the requests
    // could otherwise trickle in one by one): what arrived meanwhile is applied together.
    const head = await daemon.store.lastEventSequence();
    const held = holdProjector(daemon);
    const answering = Promise.all(names.map((name) => admin.post(`/v1/service-accounts/${name}/api-keys`, { name: "k" })));
    await waitUntil(async () => (await daemon.store.lastEventSequence()) >= head + 32, 10_000, 20);
    await sleep(200);
    held.release();
    const answers = await answering;
    held.restore();
    expect(answers.map((answer) => answer.status)).toEqual(names.map(() => 201));
    for (const [index, name] of names.entries()) {
      const keys = await admin.get(`/v1/service-accounts/${name}/api-keys`);
      expect(keys.body.items.map((key: { id: string }) => key.id)).toEqual([answers[index]!.body.id]);
    }
    const after = await scrape();
    const delta = (name: string) => sample(after, name) - sample(before, name);
    expect(delta("keyledger_projection_events_applied_total")).toBe(32);
    // Group commit: without it every event is a batch of its own (32); with it the one held, then the rest.
    expect(delta("keyledger_projection_batches_total")).toBeGreaterThan(0);
    expect(delta("keyledger_projection_batches_total")).toBeLessThanOrEqual(4);
  });

  it("counts the scheduler's runs and the retentions it closed", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    expect((await admin.post("/v1/service-accounts", { name: "metered-3" })).status).toBe(201);
    const before = await scrape();
    expect((await admin.post("/v1/service-accounts/metered-3/api-keys/default/rotate", { retainSeconds: 1 })).status).toBe(200);
    await waitUntil(
      async () =>
        sample(await scrape(), "keyledger_scheduler_expiries_total") > sample(before, "keyledger_scheduler_expiries_total"),
      10_000,
      200,
    );
    await sleep(300);
    const after = await scrape();
    expect(sample(after, "keyledger_scheduler_runs_total")).toBeGreaterThan(sample(before, "keyledger_scheduler_runs_total"));
    expect(sample(after, "keyledger_events_appended_total", { type: "ApiKeyRetentionExpired" })).toBeGreaterThanOrEqual(1);
  });
});
