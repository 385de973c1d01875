import { describe, expect, it } from "vitest";
import {
  KeyledgerApiError,
  KeyledgerClient,
  KeyledgerConnectionError,
  type EventEnvelope,
  type ReconnectInfo,
} from "../../../src/client/index.js";

const CREDENTIAL = "kl_01TESTTESTTESTTESTTESTTEST_secretsecretsecretsecretsecretsecret000";

/** What one connection of the fake API answers: chunks of body text, then the end, a broken connection, or silence. */
interface Answer {
  readonly status?: number;
  readonly contentType?: string;
  readonly chunks: readonly string[];
  readonly then: "end" | "drop" | "hang";
}

interface Seen {
  readonly url: URL;
  readonly headers: Headers;
}

/** A `fetch` that answers each request with the next scripted answer (a refused connection once they run out). */
function fakeApi(answers: Answer[]): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    seen.push({ url: new URL(String(input)), headers: new Headers(init?.headers) });
    const answer = answers.shift();
    if (answer === undefined) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    const signal = init?.signal ?? undefined;
    if (signal?.aborted === true) throw signal.reason;
    const encoder = new TextEncoder();
    // One chunk per read, then the end: an error would discard chunks still queued.
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        signal?.addEventListener("abort", () => {
          try {
            controller.error(signal.reason);
          } catch {
            // already closed
          }
        });
      },
      pull(controller) {
        const chunk = answer.chunks[next++];
        if (chunk !== undefined) return controller.enqueue(encoder.encode(chunk));
        if (answer.then === "end") return controller.close();
        if (answer.then === "drop") return controller.error(new TypeError("terminated", { cause: { code: "ECONNRESET" } }));
        return new Promise<void>(() => undefined); // silence
      },
    });
    return new Response(body, {
      status: answer.status ?? 200,
      headers: { "content-type": answer.contentType ?? "text/event-stream; charset=utf-8" },
    });
  };
  return { fetch: fake as typeof fetch, seen };
}

function frame(seq: number, type = "ServiceAccountActivated"): string {
  const data = { seq, id: `evt_${seq}`, type, accountId: "sa_X", data: {} };
  return `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function collect(
  client: KeyledgerClient,
  options: Parameters<KeyledgerClient["followEvents"]>[0],
  until: (events: EventEnvelope[]) => boolean,
): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  const controller = new AbortController();
  for await (const event of client.followEvents({ ...options, signal: controller.signal })) {
    events.push(event);
    if (until(events)) controller.abort();
  }
  return events;
}

describe("KeyledgerClient.followEvents", () => {
  it("resumes with Last-Event-ID after a dropped connection and never yields an event twice", async () => {
    const api = fakeApi([
      { chunks: ["retry: 150\n\n", frame(5), frame(6)], then: "drop" },
      // A server that resends what the client already has: the client passes over it.
      { chunks: [frame(5), frame(6), frame(7)], then: "end" },
      { chunks: [": keep-alive\n\n", frame(7), frame(8)], then: "hang" },
    ]);
    const reconnects: ReconnectInfo[] = [];
    const client = new KeyledgerClient({ url: "http://keyledger.test/", credential: CREDENTIAL, fetch: api.fetch });
    const events = await collect(client, { after: 4, onReconnect: (info) => reconnects.push(info) }, (got) => got.length === 4);
    expect(events.map((event) => event.seq)).toEqual([5, 6, 7, 8]);
    expect(api.seen.map(({ url }) => url.pathname)).toEqual(["/v1/events/stream", "/v1/events/stream", "/v1/events/stream"]);
    expect(api.seen[0]!.url.searchParams.get("after")).toBe("4");
    expect(api.seen[0]!.headers.get("last-event-id")).toBeNull();
    expect(api.seen[1]!.headers.get("last-event-id")).toBe("6");
    expect(api.seen[1]!.url.searchParams.get("after")).toBeNull();
    expect(api.seen[2]!.headers.get("last-event-id")).toBe("7");
    expect(api.seen.every(({ headers }) => headers.get("authorization") === `Bearer ${CREDENTIAL}`)).toBe(true);
    // The server's `retry: 150` sets the pause; a connection that worked resets the backoff.
    expect(reconnects.map(({ attempt, delayMs, lastEventId }) => ({ attempt, delayMs, lastEventId }))).toEqual([
      { attempt: 1, delayMs: 150, lastEventId: "6" },
      { attempt: 1, delayMs: 150, lastEventId: "7" },
    ]);
    expect(reconnects.map(({ reason }) => reason).join(" ")).not.toContain(CREDENTIAL);
  });

  it("parses the event-stream format: CRLF and CR line ends split across chunks, comments, multi-line data, a BOM", async () => {
    const event = JSON.stringify({ seq: 9, id: "evt_9", type: "ApiKeyDeleted", data: { keyId: "key_A" } });
    const comma = event.indexOf(",") + 1; // data lines join with LF, which JSON takes as whitespace between tokens
    const api = fakeApi([
      {
        chunks: [
          "\uFEFF: hello\r",
          "\n",
          "id: 9\r\nevent: ApiKeyDeleted\r\ndata: ",
          event.slice(0, comma),
          "\r\ndata:",
          event.slice(comma),
          "\r",
          "\r",
          frame(10).replaceAll("\n", "\r"),
        ],
        then: "hang",
      },
    ]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const parsed = await collect(client, { lastEventId: 8 }, (got) => got.length === 2);
    expect(parsed.map((e) => [e.seq, e.type])).toEqual([
      [9, "ApiKeyDeleted"],
      [10, "ServiceAccountActivated"],
    ]);
    expect(api.seen[0]!.headers.get("last-event-id")).toBe("8");
    expect(api.seen).toHaveLength(1);
  });

  it("ends with an error, rather than reconnecting for ever, when an event is not keyledger's", async () => {
    const api = fakeApi([{ chunks: [frame(1), "id: 2\ndata: not json\n\n"], then: "hang" }]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const got: number[] = [];
    const error = await (async () => {
      for await (const event of client.followEvents({ after: 0 })) got.push(event.seq);
    })().catch((caught: unknown) => caught);
    expect(got).toEqual([1]);
    expect(error).toBeInstanceOf(KeyledgerConnectionError);
    expect(api.seen).toHaveLength(1);
  });

  it("drops a connection that stays silent past the idle timeout and makes it again", async () => {
    const api = fakeApi([
      { chunks: [frame(1)], then: "hang" },
      { chunks: [frame(2)], then: "hang" },
    ]);
    const reasons: string[] = [];
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const events = await collect(
      client,
      { after: 0, idleTimeoutMs: 100, maxRetryDelayMs: 10, onReconnect: ({ reason }) => reasons.push(reason) },
      (got) => got.length === 2,
    );
    expect(events.map((event) => event.seq)).toEqual([1, 2]);
    expect(reasons).toEqual(["no heartbeat in time"]);
    expect(api.seen[1]!.headers.get("last-event-id")).toBe("1");
  });

  it("throws when the first connection fails or is refused, without the credential in the message", async () => {
    const unreachable = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: fakeApi([]).fetch });
    const failure = await collect(unreachable, {}, () => true).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KeyledgerConnectionError);
    expect(String((failure as Error).message)).toContain("ECONNREFUSED");
    expect(String((failure as Error).message)).not.toContain(CREDENTIAL);

    const body = JSON.stringify({
      error: { code: "forbidden", message: "the auditor or admin role is required", requestId: "req_1" },
    });
    const refused = new KeyledgerClient({
      url: "http://keyledger.test",
      credential: CREDENTIAL,
      fetch: fakeApi([{ status: 403, contentType: "application/json", chunks: [body], then: "end" }]).fetch,
    });
    const error = await collect(refused, {}, () => true).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KeyledgerApiError);
    expect((error as KeyledgerApiError).status).toBe(403);
  });

  it("refuses after a connection worked only when the API says no (4xx); 5xx and dropped connections are retried", async () => {
    const unavailable = JSON.stringify({
      error: { code: "unavailable", message: "the event store is unavailable", requestId: "r" },
    });
    const notFound = JSON.stringify({ error: { code: "not_found", message: "service account not found", requestId: "r" } });
    const api = fakeApi([
      { chunks: [frame(1)], then: "drop" },
      { status: 503, contentType: "application/json", chunks: [unavailable], then: "end" },
      { status: 404, contentType: "application/json", chunks: [notFound], then: "end" },
    ]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const got: number[] = [];
    const error = await (async () => {
      for await (const event of client.followEvents({ after: 0, maxRetryDelayMs: 5 })) got.push(event.seq);
    })().catch((caught: unknown) => caught);
    expect(got).toEqual([1]);
    expect(error).toBeInstanceOf(KeyledgerApiError);
    expect((error as KeyledgerApiError).code).toBe("not_found");
  });

  it("ends quietly when its signal aborts, even while waiting to reconnect", async () => {
    const api = fakeApi([{ chunks: [frame(1)], then: "drop" }]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const controller = new AbortController();
    const got: number[] = [];
    const started = Date.now();
    for await (const event of client.followEvents({
      after: 0,
      signal: controller.signal,
      onReconnect: () => setTimeout(() => controller.abort(), 20),
    })) {
      got.push(event.seq);
    }
    expect(got).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(900); // did not wait out the 1 s pause
  });
});

describe("KeyledgerClient.verifyAudit", () => {
  const report = {
    ok: false,
    checked: 3,
    head: 4,
    problems: [{ seq: 2, reason: "bad signature" }],
    truncated: false,
    checkpoints: { checked: 0, coveredEvents: 0 },
  };

  it("reads the NDJSON answer: progress lines, then the report", async () => {
    const lines = [
      { progress: { seq: 2, head: 4, checked: 1, problems: 0 } },
      { progress: { seq: 4, head: 4, checked: 3, problems: 1 } },
      { report },
    ];
    const text = lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
    const api = fakeApi([
      { contentType: "application/x-ndjson", chunks: [text.slice(0, 30), text.slice(30, 31), text.slice(31)], then: "end" },
    ]);
    const progress: number[] = [];
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const answer = await client.verifyAudit({ maxProblems: 5, onProgress: (p) => progress.push(p.seq) });
    expect(answer).toEqual(report);
    expect(progress).toEqual([2, 4]);
    expect(api.seen[0]!.headers.get("accept")).toBe("application/x-ndjson");
    expect(api.seen[0]!.url.search).toBe("?maxProblems=5");
  });

  it("turns an error line into the API's error, and an answer cut short into a connection error", async () => {
    const error = { error: { code: "unavailable", message: "the audit could not read the whole stream", requestId: "req_9" } };
    const failing = new KeyledgerClient({
      url: "http://keyledger.test",
      credential: CREDENTIAL,
      fetch: fakeApi([{ contentType: "application/x-ndjson", chunks: [`${JSON.stringify(error)}\n`], then: "end" }]).fetch,
    });
    await expect(failing.verifyAudit({ onProgress: () => undefined })).rejects.toMatchObject({
      code: "unavailable",
      requestId: "req_9",
    });
    const cut = new KeyledgerClient({
      url: "http://keyledger.test",
      credential: CREDENTIAL,
      fetch: fakeApi([
        {
          contentType: "application/x-ndjson",
          chunks: ['{"progress":{"seq":1,"head":9,"checked":1,"problems":0}}\n'],
          then: "drop",
        },
      ]).fetch,
    });
    const failure = await cut.verifyAudit({ onProgress: () => undefined }).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(KeyledgerConnectionError);
    expect((failure as Error).message).not.toContain(CREDENTIAL);
  });

  it("without onProgress asks for one JSON answer", async () => {
    const api = fakeApi([{ contentType: "application/json", chunks: [JSON.stringify(report)], then: "end" }]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    expect(await client.verifyAudit()).toEqual(report);
    expect(api.seen[0]!.headers.get("accept")).toBe("application/json");
  });
});

describe("KeyledgerClient history and time travel", () => {
  it("pages through the history until next is null, with the filters on every page", async () => {
    const page = (seqs: number[], next: number | null): Answer => ({
      contentType: "application/json",
      chunks: [JSON.stringify({ items: seqs.map((seq) => ({ seq, type: "ApiKeyRotated" })), next })],
      then: "end",
    });
    const api = fakeApi([page([3, 4], 4), page([], 9), page([12], null)]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    const seqs: number[] = [];
    for await (const event of client.events({ after: 2, type: "ApiKeyRotated", account: "ci runner" })) seqs.push(event.seq);
    expect(seqs).toEqual([3, 4, 12]);
    expect(api.seen.map(({ url }) => url.searchParams.get("after"))).toEqual(["2", "4", "9"]);
    expect(
      api.seen.every(
        ({ url }) => url.searchParams.get("type") === "ApiKeyRotated" && url.searchParams.get("account") === "ci runner",
      ),
    ).toBe(true);
    expect(api.seen[0]!.url.searchParams.get("limit")).toBe("1000");
  });

  it("sends asOf as given, a Date as its ISO instant", async () => {
    const state = { asOf: { seq: 7, at: "2030-01-01T00:00:00.000Z" }, serviceAccounts: [] };
    const page = { ...state, nextCursor: null };
    const api = fakeApi([
      { contentType: "application/json", chunks: [JSON.stringify(page)], then: "end" },
      { contentType: "application/json", chunks: [JSON.stringify(page)], then: "end" },
      {
        contentType: "application/json",
        chunks: [JSON.stringify({ items: [], nextCursor: null, asOf: state.asOf })],
        then: "end",
      },
      { contentType: "application/json", chunks: [JSON.stringify({ id: "sa_1", apiKeys: [], asOf: state.asOf })], then: "end" },
    ]);
    const client = new KeyledgerClient({ url: "http://keyledger.test", credential: CREDENTIAL, fetch: api.fetch });
    expect(await client.auditState(7)).toEqual(state);
    await client.auditState(new Date("2030-01-01T00:00:00Z"));
    expect((await client.listServiceAccounts({ asOf: "2030-01-01T00:00:00+01:00" })).asOf).toEqual(state.asOf);
    expect((await client.getServiceAccount("ci", { asOf: 7 })).asOf.seq).toBe(7);
    expect(api.seen.map(({ url }) => url.searchParams.get("asOf"))).toEqual([
      "7",
      "2030-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00+01:00",
      "7",
    ]);
  });
});
