import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";
import { openSse, type SseConnection } from "../../helpers/sse.js";

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;
let admin: Client;
/** Three auditors, each a service account of its own: its id, its key's id and the key. */
const auditors: Record<"a" | "b" | "c", { id: string; keyId: string; key: string }> = {} as never;

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
/** Every stream a test opened, closed after it whatever happened. */
const opened: SseConnection[] = [];

async function stream(on: TestDaemon, key: string, query = "", headers: Record<string, string> = {}): Promise<SseConnection> {
  const sse = await openSse(`${on.url}/v1/events/stream${query}`, { ...bearer(key), ...headers });
  opened.push(sse);
  return sse;
}

/** Opens a stream as soon as a slot is free: a closed stream's slot frees once the daemon sees the close. */
async function openWhenFree(key: string): Promise<SseConnection> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sse = await stream(daemon, key);
    if (sse.status === 200) return sse;
    sse.close();
    if (Date.now() > deadline) throw new Error(`still ${sse.status} after 10 s`);
    await sleep(50);
  }
}

/** Closes the streams, and waits until the daemon has seen them all close (nothing open left on /metrics). */
async function closeAll(streams: readonly SseConnection[]): Promise<void> {
  for (const sse of streams) sse.close();
  await Promise.all(streams.map((sse) => sse.ended));
  await waitUntil(async () => (await metric("keyledger_event_streams_open")) === 0);
}

/** One sample of the daemon's /metrics (0 when absent). */
async function metric(name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

/** The daemon's log lines (parsed) that belong to one request. */
function linesOf(on: TestDaemon, requestId: string): Array<Record<string, any>> {
  return on.logs
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, any>)
    .filter((line) => line.reqId === requestId);
}

/** The one access line of an ended stream, once it is written; fails on none or more than one. */
async function accessLineOf(on: TestDaemon, sse: SseConnection): Promise<Record<string, any>> {
  const requestId = sse.headers.get("x-request-id")!;
  const ended = () => linesOf(on, requestId).filter((line) => line.msg === "event stream ended");
  await waitUntil(() => ended().length > 0);
  await sleep(200); // time enough for a second line, if one were coming
  expect(ended()).toHaveLength(1);
  // Fastify's own line would say 200 with the stream's whole life as its response time.
  expect(linesOf(on, requestId).filter((line) => /request (completed|errored)/.test(line.msg))).toEqual([]);
  return ended()[0]!;
}

async function expectRefused(sse: SseConnection, ...words: string[]): Promise<void> {
  expect(sse.status).toBe(429);
  expect(Number(sse.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = (await sse.errorBody()) as { error: { code: string; message: string; requestId: string } };
  expect(body).toEqual({ error: { code: "rate_limited", message: expect.any(String), requestId: expect.any(String) } });
  for (const word of words) expect(body.error.message).toContain(word);
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, {
    "max-streams-per-principal": "2",
    "max-streams": "3",
    "auth-failures-per-minute": "10000",
  });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  for (const name of ["a", "b", "c"] as const) {
    const created = await admin.post("/v1/service-accounts", { name: `auditor-${name}`, roles: ["auditor"] });
    expect(created.status).toBe(201);
    auditors[name] = { id: created.body.serviceAccount.id, keyId: created.body.apiKey.id, key: created.body.apiKey.key };
  }
}, 60_000);

afterEach(async () => {
  // A failed test leaves nothing open for the next one (its own failure stays the one reported).
  await closeAll(opened.splice(0));
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

describe("live event streams are capped per service account and per daemon", () => {
  it("refuses a service account's stream beyond its cap (429, Retry-After), not another account's; a close frees a slot", async () => {
    const { a, b } = auditors;
    const refusedBefore = await metric("keyledger_event_streams_refused_total", '{reason="principal"}');
    const open = [await stream(daemon, a.key), await stream(daemon, a.key)];
    expect(open.map((sse) => sse.status)).toEqual([200, 200]);
    expect(await metric("keyledger_event_streams_open")).toBe(2);

    await expectRefused(
      await stream(daemon, a.key),
      "your service account",
      "2 live event streams",
      "max-streams-per-principal 2",
    );
    expect(await metric("keyledger_event_streams_open")).toBe(2);
    expect(await metric("keyledger_event_streams_refused_total", '{reason="principal"}')).toBe(refusedBefore + 1);

    open.push(await stream(daemon, b.key));
    expect(open[2]!.status).toBe(200);
    expect(await metric("keyledger_event_streams_open")).toBe(3);

    open[0]!.close();
    open.push(await openWhenFree(a.key));
    expect(await metric("keyledger_event_streams_open")).toBe(3);
    // The gauge follows the closes too.
    await closeAll(open);
  });

  it("refuses every account beyond the daemon's cap", async () => {
    const { a, b, c } = auditors;
    const refusedBefore = await metric("keyledger_event_streams_refused_total", '{reason="daemon"}');
    const open = [await stream(daemon, a.key), await stream(daemon, b.key), await stream(daemon, b.key)];
    expect(open.map((sse) => sse.status)).toEqual([200, 200, 200]);
    await expectRefused(await stream(daemon, c.key), "this daemon", "3 live event streams", "max-streams 3");
    await expectRefused(await stream(daemon, adminKey), "this daemon", "max-streams 3");
    // a holds one of its two: the daemon's cap is what refuses it.
    await expectRefused(await stream(daemon, a.key), "this daemon");
    expect(await metric("keyledger_event_streams_refused_total", '{reason="daemon"}')).toBe(refusedBefore + 3);
    expect(await metric("keyledger_event_streams_open")).toBe(3);

    open[1]!.close();
    open.push(await openWhenFree(c.key));
    // The gauge follows the closes too.
    await closeAll(open);
  });

  it("keeps no slot for a stream that fails to start (400, 404) or has no stream (HEAD)", async () => {
    const { a } = auditors;
    const first = await stream(daemon, a.key);
    const open = [first];
    expect(first.status).toBe(200);
    // Each of these takes a slot while it is checked; had one kept it, a would be at its cap of 2.
    for (let i = 0; i < 3; i++) {
      const badId = await stream(daemon, a.key, "", { "last-event-id": "not-a-number" });
      expect(badId.status).toBe(400);
      await badId.errorBody();
      const noAccount = await stream(daemon, a.key, "?account=nobody");
      expect(noAccount.status).toBe(404);
      await noAccount.errorBody();
      const head = await fetch(`${daemon.url}/v1/events/stream`, { method: "HEAD", headers: bearer(a.key) });
      expect(head.status).toBe(200);
    }
    expect(await metric("keyledger_event_streams_open")).toBe(1);
    const second = await stream(daemon, a.key);
    open.push(second);
    expect(second.status).toBe(200);
    expect(await metric("keyledger_event_streams_open")).toBe(2);
    // The gauge follows the closes too.
    await closeAll(open);
  });
});

describe("the access line of a live event stream", () => {
  it("is written once when the client leaves: who, the filters, where it started, what it sent, how long, why", async () => {
    const { a, b } = auditors;
    const created = (await admin.get("/v1/events?limit=1000&type=ServiceAccountCreated")).body.items.length;
    const typed = await stream(daemon, a.key, "?after=0&type=ServiceAccountCreated");
    const byName = await stream(daemon, b.key, "?account=auditor-a");
    expect([typed.status, byName.status]).toEqual([200, 200]);
    await typed.waitFor(created);
    await sleep(300);
    await closeAll([typed, byName]);

    const line = await accessLineOf(daemon, typed);
    expect(line).toMatchObject({
      level: 30,
      req: { method: "GET", path: "/v1/events/stream" },
      principal: { accountId: a.id, keyId: a.keyId },
      filter: { account: null, type: "ServiceAccountCreated" },
      after: 0,
      eventsSent: created,
      endReason: "client_closed",
    });
    expect(line.durationMs).toBeGreaterThanOrEqual(300);
    expect(line.durationMs).toBeLessThan(30_000);

    const head = (await admin.get("/v1/events?limit=1000")).body.items.at(-1).seq;
    const other = await accessLineOf(daemon, byName);
    expect(other).toMatchObject({
      principal: { accountId: b.id, keyId: b.keyId },
      // The account filter as the account's id, whichever way the client named it.
      filter: { account: a.id, type: null },
      eventsSent: 0,
      endReason: "client_closed",
    });
    // Live from the head of its time.
    expect(other.after).toBeGreaterThan(0);
    expect(other.after).toBeLessThanOrEqual(head);

    const logs = daemon.logs.join("");
    for (const secret of [adminKey, a.key, b.key, auditors.c.key]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/bearer/i);
  });

  it("is written once with the reason 'shutdown' for each stream open when the daemon stops", async () => {
    const stopping = await startTestDaemon(nats.url);
    const streams = await Promise.all([stream(stopping, adminKey, "?after=0"), stream(stopping, adminKey, "?account=auditor-c")]);
    try {
      expect(streams.map((sse) => sse.status)).toEqual([200, 200]);
      await streams[0]!.waitFor(1);
      await stopping.stop();
      expect(await Promise.all(streams.map((sse) => sse.ended))).toEqual(["end", "end"]);
      const lines = await Promise.all(streams.map((sse) => accessLineOf(stopping, sse)));
      expect(lines.map((line) => line.endReason)).toEqual(["shutdown", "shutdown"]);
      expect(lines[0]!.eventsSent).toBeGreaterThanOrEqual(1);
      expect(lines[1]!.filter).toEqual({ account: auditors.c.id, type: null });
    } finally {
      for (const sse of streams) sse.close();
      stopping.app.server.closeAllConnections();
    }
  }, 30_000);
});
