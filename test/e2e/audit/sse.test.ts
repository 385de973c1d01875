import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredEvent } from "../../../src/format/index.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";
import { openSse, type SseEvent } from "../../helpers/sse.js";

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;
let admin: Client;
let auditorKey: string;
let verifierKey: string;
const ids: Record<string, string> = {};
/** Every plaintext key the API handed out. */
const secrets: string[] = [];

const streamUrl = (query = ""): string => `${daemon.url}/v1/events/stream${query}`;
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const parsed = (event: SseEvent): StoredEvent => JSON.parse(event.data) as StoredEvent;
const seqsOf = (events: readonly SseEvent[]): number[] => events.map((event) => Number(event.id));

async function expectOk<T = any>(answer: Promise<{ status: number; body: T }>, status = 200): Promise<T> {
  const got = await answer;
  expect(got.status, JSON.stringify(got.body)).toBe(status);
  return got.body;
}

/** Every event in the stream as `GET /v1/events` answers it. */
async function history(query = ""): Promise<StoredEvent[]> {
  return (await expectOk(admin.get(`/v1/events?limit=1000${query}`))).items;
}

let counter = 0;
/** One change through the API: a new key on an account (one event). */
async function change(account = "watched"): Promise<void> {
  secrets.push((await expectOk(admin.post(`/v1/service-accounts/${account}/api-keys`, { name: `k${++counter}` }), 201)).key);
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "auth-failures-per-minute": "10000" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  for (const [name, roles] of [
    ["watched", ["verifier"]],
    ["other", []],
    ["audit-team", ["auditor"]],
    ["gateway", ["verifier"]],
  ] as const) {
    const created = await expectOk(admin.post("/v1/service-accounts", { name, roles }), 201);
    ids[name] = created.serviceAccount.id;
    secrets.push(created.apiKey.key);
    if (name === "audit-team") auditorKey = created.apiKey.key;
    if (name === "gateway") verifierKey = created.apiKey.key;
  }
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

describe("GET /v1/events/stream", () => {
  it("sends live events as they are appended, each with id = its stream sequence", async () => {
    const sse = await openSse(streamUrl(), bearer(adminKey));
    try {
      expect(sse.status).toBe(200);
      expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const before = (await history()).at(-1)!.seq;
      // Nothing from before the connection: a live tail starts at the head.
      await sleep(300);
      expect(sse.events).toEqual([]);

      await change();
      await change("other");
      secrets.push(
        (await expectOk(admin.post("/v1/service-accounts/watched/api-keys/default/rotate", { retainSeconds: 0 }))).key,
      );
      const received = await sse.waitFor(3);
      const appended = (await history()).filter((event) => event.seq > before);
      expect(appended).toHaveLength(3);
      expect(seqsOf(received)).toEqual(appended.map((event) => event.seq));
      for (const [index, event] of received.entries()) {
        expect(parsed(event)).toEqual(appended[index]);
        expect(event.event).toBe(appended[index]!.type);
      }
      expect(sse.retry()).toBeGreaterThan(0);
    } finally {
      sse.close();
    }
  });

  it("lets an auditor follow it; no frame holds a secret", async () => {
    const sse = await openSse(streamUrl("?after=0"), bearer(auditorKey));
    try {
      expect(sse.status).toBe(200);
      const all = await history();
      expect(seqsOf(await sse.waitFor(all.length))).toEqual(all.map((event) => event.seq));
      const frames = JSON.stringify(sse.events);
      expect(secrets.length).toBeGreaterThanOrEqual(5);
      for (const secret of [adminKey, ...secrets]) expect(frames).not.toContain(secret);
    } finally {
      sse.close();
    }
  });

  it("after=<seq> replays everything after it, then goes on live", async () => {
    const all = await history();
    const from = all[3]!.seq;
    const sse = await openSse(streamUrl(`?after=${from}`), bearer(adminKey));
    try {
      const expected = all.filter((event) => event.seq > from);
      expect(seqsOf(await sse.waitFor(expected.length))).toEqual(expected.map((event) => event.seq));
      await change();
      const live = (await history()).at(-1)!;
      const received = await sse.waitFor(expected.length + 1);
      expect(seqsOf(received)).toEqual([...expected, live].map((event) => event.seq));
    } finally {
      sse.close();
    }
  });

  it("a client that reconnects with Last-Event-ID gets every event after it, none twice", async () => {
    const first = await openSse(streamUrl("?after=0"), bearer(adminKey));
    const start = await history();
    await first.waitFor(start.length);
    await change();
    await change("other");
    const seen = await first.waitFor(start.length + 2);
    first.close();
    expect(await first.ended).toBe("error"); // the client hung up

    // Appended while it is away.
    for (let i = 0; i < 5; i++) await change(i % 2 === 0 ? "watched" : "other");
    await expectOk(admin.patch("/v1/service-accounts/other", { description: "changed while away" }));

    // Reconnect as EventSource does: the same URL, with the last id it saw.
    const lastId = seen.at(-1)!.id!;
    const second = await openSse(streamUrl("?after=0"), { ...bearer(adminKey), "last-event-id": lastId });
    try {
      expect(second.status).toBe(200);
      const missed = (await history()).filter((event) => event.seq > Number(lastId));
      expect(missed).toHaveLength(6);
      await second.waitFor(missed.length);
      await change(); // and live again after the catch-up
      const all = await history();
      const caughtUp = await second.waitFor(missed.length + 1);
      const together = [...seqsOf(seen), ...seqsOf(caughtUp)];
      expect(together).toEqual(all.map((event) => event.seq));
      expect(new Set(together).size).toBe(together.length);
      await sleep(200);
      expect(second.events).toHaveLength(missed.length + 1);
    } finally {
      second.close();
    }
  });

  it("filters by type", async () => {
    const sse = await openSse(streamUrl("?after=0&type=ApiKeyRotated"), bearer(adminKey));
    try {
      const rotations = await history("&type=ApiKeyRotated");
      expect(rotations.length).toBeGreaterThanOrEqual(1);
      await sse.waitFor(rotations.length);
      await change();
      await expectOk(admin.post("/v1/service-accounts/other/api-keys/default/rotate", { retainSeconds: 0 }));
      const received = await sse.waitFor(rotations.length + 1);
      await sleep(200);
      expect(sse.events).toHaveLength(rotations.length + 1);
      expect(received.map(parsed)).toEqual(await history("&type=ApiKeyRotated"));
      expect(received.every((event) => event.event === "ApiKeyRotated")).toBe(true);
    } finally {
      sse.close();
    }
  });

  it.each(["name", "id"])("filters by account, given its %s", async (by) => {
    const account = by === "name" ? "other" : ids.other!;
    const sse = await openSse(streamUrl(`?after=0&account=${account}`), bearer(adminKey));
    try {
      const before = await history(`&account=${ids.other}`);
      await sse.waitFor(before.length);
      await change("watched");
      await change("other");
      const received = await sse.waitFor(before.length + 1);
      await sleep(200);
      expect(sse.events).toHaveLength(before.length + 1);
      expect(received.map(parsed)).toEqual(await history(`&account=${ids.other}`));
      expect(received.every((event) => parsed(event).accountId === ids.other)).toBe(true);
    } finally {
      sse.close();
    }
  });

  describe("refuses before the stream starts, with the contract's JSON error", () => {
    const refused = async (url: string, headers: Record<string, string>, status: number, code: string) => {
      const sse = await openSse(url, headers);
      try {
        expect(sse.status).toBe(status);
        expect(sse.headers.get("content-type")).toMatch(/^application\/json/);
        const body = (await sse.errorBody()) as { error: { code: string; message: string; requestId: string } };
        expect(body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
        return body.error.message;
      } finally {
        sse.close();
      }
    };

    it("401 without a credential or with a wrong one", async () => {
      await refused(streamUrl(), {}, 401, "unauthenticated");
      await refused(streamUrl(), bearer("kl_00000000000000000000000000_nope"), 401, "unauthenticated");
    });

    it("403 for a verifier", async () => {
      await refused(streamUrl(), bearer(verifierKey), 403, "forbidden");
    });

    it("404 for an account name nobody holds", async () => {
      await refused(streamUrl("?account=nobody"), bearer(adminKey), 404, "not_found");
    });

    it("404 for a well-formed account id that never existed", async () => {
      // Otherwise the client waits forever on a stream that can never send anything.
      await refused(streamUrl("?account=sa_01ARZ3NDEKTSV4RRFFQ69G5FAV"), bearer(adminKey), 404, "not_found");
    });

    it.each([
      ["?after=-1", {}, "after"],
      ["?type=ApiKeyStolen", {}, "type"],
      ["?colour=red", {}, "colour"],
      ["", { "last-event-id": "not-a-number" }, "Last-Event-ID"],
    ] as const)("400 naming the field for %s %j", async (query, headers, field) => {
      const message = await refused(streamUrl(query), { ...bearer(adminKey), ...headers }, 400, "invalid_request");
      expect(message).toContain(field);
    });
  });

  describe("daemon shutdown", () => {
    /** `daemon.stop()`, or "hung" when it has not resolved after 8 s (it takes well under one). */
    const stopWithin = (stopping: TestDaemon): Promise<"stopped" | "hung"> =>
      Promise.race([stopping.stop().then(() => "stopped" as const), sleep(8_000).then(() => "hung" as const)]);

    it("ends every open stream promptly", async () => {
      // A daemon of its own on the same stream, so that the others go on.
      const stopping = await startTestDaemon(nats.url);
      const streams = await Promise.all([
        openSse(`${stopping.url}/v1/events/stream`, bearer(adminKey)),
        openSse(`${stopping.url}/v1/events/stream?after=0&account=watched`, bearer(adminKey)),
      ]);
      try {
        expect(streams.map((sse) => sse.status)).toEqual([200, 200]);
        await streams[1]!.waitFor(1);
        const outcome = await Promise.all([stopWithin(stopping), ...streams.map((sse) => sse.ended)]);
        expect(outcome).toEqual(["stopped", "end", "end"]);
      } finally {
        for (const sse of streams) sse.close();
        stopping.app.server.closeAllConnections();
      }
    }, 30_000);

    it("is not held by a client that hung up its stream before", async () => {
      const stopping = await startTestDaemon(nats.url);
      try {
        const sse = await openSse(`${stopping.url}/v1/events/stream?after=0`, bearer(adminKey));
        await sse.waitFor(1);
        sse.close();
        expect(await sse.ended).toBe("error");
        expect(await stopWithin(stopping)).toBe("stopped");
      } finally {
        stopping.app.server.closeAllConnections();
      }
    }, 30_000);

    it("is not held by a fetch client that aborted its stream (its pool connects again at once)", async () => {
      const stopping = await startTestDaemon(nats.url);
      try {
        const abort = new AbortController();
        const response = await fetch(`${stopping.url}/v1/events/stream?after=0`, {
          headers: bearer(adminKey),
          signal: abort.signal,
        });
        const reader = response.body!.getReader();
        expect((await reader.read()).done).toBe(false);
        abort.abort();
        await expect(reader.read()).rejects.toThrow();
        await sleep(200);
        expect(await stopWithin(stopping)).toBe("stopped");
      } finally {
        // Frees the stop this test may have left waiting.
        stopping.app.server.closeAllConnections();
      }
    }, 30_000);

    it("is not held by a connection that has not sent a request yet", async () => {
      const stopping = await startTestDaemon(nats.url);
      const { port, hostname } = new URL(stopping.url);
      const idle = connect(Number(port), hostname);
      try {
        await new Promise((resolve, reject) => idle.once("connect", resolve).once("error", reject));
        expect(await stopWithin(stopping)).toBe("stopped");
      } finally {
        idle.destroy();
        stopping.app.server.closeAllConnections();
      }
    }, 30_000);
  });
});
