/**
 * POST /v1/auth/verify is answered before fastify sees it when nothing but a verification is asked
 * (src/api/fast-verify.ts). These tests hold it to the route's contract from the outside, against a
 * real daemon on a real nats-server: every answer is the one the fastify route gives to the same
 * request (the route still answers `/v1/auth/verify?…`, which the fast path leaves alone); a
 * caller without a credential, with a wrong, revoked or forged one, or without the role, is never
 * served by it; odd bodies get the route's 4xx naming the field; the access line, the metrics and
 * the request id are kept.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, sleep, waitUntil, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { send, type Answer, type RequestHeaders } from "../helpers/routes.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let verifierKey: string;
let otherKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
  verifierKey = (await admin.post("/v1/service-accounts", { name: "fast-verifier", roles: ["verifier"] })).body.apiKey.key;
  otherKey = (await admin.post("/v1/service-accounts", { name: "fast-verified", roles: [] })).body.apiKey.key;
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split("\n")
    .find((candidate) =>
      candidate.startsWith(`${name}{`) || candidate.startsWith(`${name} `)
        ? wanted.every((part) => candidate.includes(part))
        : false,
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const answeredFast = () => metric("keyledger_verify_fast_path_total", { outcome: "answered" });

/** The log lines (access lines, and others) of one request, parsed. */
function linesOf(logs: string[], requestId: string): any[] {
  return logs
    .join("")
    .split("\n")
    .filter((line) => line.includes(`"reqId":"${requestId}"`))
    .map((line) => JSON.parse(line));
}

/** The access line of one request (undefined: none yet). */
const accessLine = (logs: string[], requestId: string): any => linesOf(logs, requestId)[0];

function verify(
  credential: string | null,
  body: unknown,
  extra: RequestHeaders = {},
  path = "/v1/auth/verify",
  base = daemon.url,
): Promise<Answer> {
  return send(base, {
    method: "POST",
    url: path,
    headers: { ...(credential === null ? {} : { authorization: `Bearer ${credential}` }), ...extra },
    body,
  });
}

/** What a client can see of an answer, but for the request id and the date. */
function comparable(answer: Answer): unknown {
  const { date: _date, "x-request-id": _id, ...headers } = answer.headers;
  const json = answer.json as { error?: { requestId?: string } } | undefined;
  const body = json?.error === undefined ? answer.text : JSON.stringify({ ...json, error: { ...json.error, requestId: "…" } });
  return { status: answer.status, headers, body };
}

/** The fast path's answer (or the route's, when the fast path hands it over) and the route's own answer to the same request. */
async function bothWays(credential: string | null, body: unknown, extra: RequestHeaders = {}): Promise<[Answer, Answer]> {
  const fast = await verify(credential, body, extra);
  const route = await verify(credential, body, extra, "/v1/auth/verify?via=route");
  return [fast, route];
}

describe("the fast path of POST /v1/auth/verify", () => {
  it("answers a verification byte for byte as the route does, and counts it where the route would", async () => {
    // A caller's credential not in memory yet is the route's to read from LevelDB; then it is in memory.
    const caller = await admin.post("/v1/service-accounts", { name: "fast-cold", roles: ["verifier"] });
    const cold = await answeredFast();
    expect((await verify(caller.body.apiKey.key, { key: otherKey })).json.valid).toBe(true);
    expect(await answeredFast()).toBe(cold);
    expect((await verify(caller.body.apiKey.key, { key: otherKey })).json.valid).toBe(true);
    expect(await answeredFast()).toBe(cold + 1);

    await verify(verifierKey, { key: otherKey });
    const before = {
      fast: await answeredFast(),
      valid: await metric("keyledger_verifications_total", { result: "valid" }),
      latency: await metric("keyledger_http_request_duration_seconds_count", { route: "/v1/auth/verify", status_code: "200" }),
    };
    const [fast, route] = await bothWays(verifierKey, { key: otherKey });
    expect(fast.status).toBe(200);
    expect(fast.json).toMatchObject({ valid: true, serviceAccount: { name: "fast-verified" }, credential: "current" });
    expect(comparable(fast)).toEqual(comparable(route));
    expect(fast.headers["x-request-id"]).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(await answeredFast()).toBe(before.fast + 1);
    expect(await metric("keyledger_verifications_total", { result: "valid" })).toBe(before.valid + 2);
    expect(await metric("keyledger_http_request_duration_seconds_count", { route: "/v1/auth/verify", status_code: "200" })).toBe(
      before.latency + 2,
    );
  });

  it("answers refusals of the key presented as the route does", async () => {
    const wrongSecret = `${otherKey.slice(0, 30)}${"Z".repeat(43)}`;
    const unknown = `kl_${"0".repeat(26)}_${"A".repeat(43)}`;
    for (const key of [wrongSecret, unknown, "not a key at all"]) {
      const before = await answeredFast();
      const [fast, route] = await bothWays(verifierKey, { key });
      expect(fast.json.valid).toBe(false);
      expect(comparable(fast)).toEqual(comparable(route));
      expect(await answeredFast()).toBe(before + 1);
    }
  });

  it("keeps the client's request id and writes one access line per verification", async () => {
    const answer = await verify(verifierKey, { key: otherKey }, { "x-request-id": "fast-path-trace-1" });
    expect(answer.headers["x-request-id"]).toBe("fast-path-trace-1");
    await waitUntil(() => accessLine(daemon.logs, "fast-path-trace-1") !== undefined, 5000);
    const lines = linesOf(daemon.logs, "fast-path-trace-1");
    expect(lines).toHaveLength(1);
    const line = lines[0];
    expect(line).toMatchObject({
      level: 30,
      msg: "request completed",
      req: { method: "POST", path: "/v1/auth/verify", remoteAddress: "127.0.0.1" },
      res: { statusCode: 200 },
    });
    expect(line.responseTime).toBeGreaterThan(0);
    // Neither key is in the log.
    expect(daemon.logs.join("")).not.toContain(otherKey.slice(31));
  });

  it("never serves a caller without a credential, with a wrong or forged one, or without the verifier role", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
    const head = `${b64({ alg: "EdDSA", typ: "JWT", kid: "ed25519:attacker" })}.${b64({
      iss: "keyledger",
      sub: "sa_x",
      key: otherKey.slice(3, 29),
      roles: ["verifier"],
      exp: Math.floor(Date.now() / 1000) + 600,
    })}`;
    const forgedToken = `${head}.${sign(null, Buffer.from(head, "ascii"), privateKey).toString("base64url")}`;
    const cases: Array<[string | null, number]> = [
      [null, 401],
      [`${verifierKey.slice(0, 30)}${"Q".repeat(43)}`, 401],
      [forgedToken, 401],
      [otherKey, 403],
    ];
    for (const [credential, status] of cases) {
      const before = await answeredFast();
      const [fast, route] = await bothWays(credential, { key: otherKey });
      expect(fast.status).toBe(status);
      expect(comparable(fast)).toEqual(comparable(route));
      expect(await answeredFast()).toBe(before);
    }
  });

  it("stops serving a caller at once when its key is deactivated", async () => {
    const caller = await admin.post("/v1/service-accounts", { name: "fast-caller", roles: ["verifier"] });
    const key: string = caller.body.apiKey.key;
    expect((await verify(key, { key: otherKey })).json.valid).toBe(true);
    // Now in memory: served by the fast path.
    const served = await answeredFast();
    expect((await verify(key, { key: otherKey })).json.valid).toBe(true);
    expect(await answeredFast()).toBe(served + 1);
    expect((await admin.patch("/v1/service-accounts/fast-caller/api-keys/default", { active: false })).status).toBe(200);
    const before = await answeredFast();
    const answer = await verify(key, { key: otherKey });
    expect(answer.status).toBe(401);
    expect(await answeredFast()).toBe(before);
  });

  it("hands odd bodies to the route, which names the field at fault", async () => {
    const cases: Array<[string, unknown, RequestHeaders, number, RegExp | null]> = [
      ["an unknown member", { key: otherKey, extra: 1 }, {}, 400, /extra is not a known body field/],
      ["an empty key", { key: "" }, {}, 400, /key must not be empty/],
      ["a key too long", { key: "k".repeat(513) }, {}, 400, /key must be at most 512 characters long/],
      ["a key that is no string", { key: 12 }, {}, 400, /key must be a string/],
      ["no key", {}, {}, 400, /key is required/],
      ["a list", "[1]", { "content-type": "application/json" }, 400, /body must be a JSON object/],
      ["not JSON", "{key:", { "content-type": "application/json" }, 400, null],
      ["a __proto__ member", '{"__proto__":{"key":"x"}}', { "content-type": "application/json" }, 400, null],
      ["a key with characters beyond ASCII", { key: `${otherKey}é` }, {}, 200, null],
      [
        "a charset other than UTF-8",
        JSON.stringify({ key: otherKey }),
        { "content-type": "application/json; charset=latin1" },
        0,
        null,
      ],
      ["another content type", JSON.stringify({ key: otherKey }), { "content-type": "text/plain" }, 0, null],
      [
        "a body over 64 KiB",
        JSON.stringify({ key: "k".repeat(70_000) }),
        { "content-type": "application/json" },
        400,
        /body is too large/,
      ],
    ];
    for (const [what, body, headers, status, message] of cases) {
      const before = await answeredFast();
      const [fast, route] = await bothWays(verifierKey, body, headers);
      expect(comparable(fast), what).toEqual(comparable(route));
      if (status !== 0) expect(fast.status, what).toBe(status);
      if (message !== null) expect(fast.json.error.message, what).toMatch(message);
      expect(await answeredFast(), what).toBe(before);
    }
  });

  it("hands a chunked body to the route, which answers it as any other", async () => {
    const before = await answeredFast();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const { hostname, port } = new URL(daemon.url);
        const outgoing = request(
          {
            host: hostname,
            port,
            method: "POST",
            path: "/v1/auth/verify",
            headers: {
              authorization: `Bearer ${verifierKey}`,
              "content-type": "application/json",
              "transfer-encoding": "chunked",
            },
            agent: false,
          },
          (response) => {
            let body = "";
            response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        outgoing.on("error", reject);
        const json = JSON.stringify({ key: otherKey });
        outgoing.write(json.slice(0, 10));
        outgoing.end(json.slice(10));
      }, reject);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).valid).toBe(true);
    expect(await answeredFast()).toBe(before);
  });
});

/** Writes raw bytes on one connection and collects what comes back until the server closes it or `ms` pass. */
async function rawExchange(url: string, parts: Array<string | number>, ms = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("utf8")));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  for (const part of parts) {
    if (typeof part === "number") await sleep(part);
    else socket.write(part);
  }
  await Promise.race([closed, sleep(ms)]);
  socket.destroy();
  return received;
}

function verifyHead(credential: string, body: string, requestId: string): string {
  return (
    `POST /v1/auth/verify HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${credential}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n\r\n`
  );
}

describe("the fast path's edges (found by an attacker's review)", () => {
  it("counts the latency of a request it hands over from the request's arrival, not from the hand-over", async () => {
    const body = JSON.stringify({ key: otherKey, extra: 1 });
    const handedOver = () => metric("keyledger_verify_fast_path_total", { outcome: "handed_over" });
    expect((await verify(verifierKey, { key: otherKey })).status).toBe(200); // the caller in memory
    const before = await handedOver();
    const answer = await rawExchange(daemon.url, [verifyHead(verifierKey, body, "slow-body-1"), 600, body], 1500);
    expect(await handedOver()).toBe(before + 1);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await waitUntil(() => accessLine(daemon.logs, "slow-body-1") !== undefined, 5000);
    expect(accessLine(daemon.logs, "slow-body-1")!.responseTime).toBeGreaterThanOrEqual(550);
  });

  it("neither answers, logs nor counts a verification whose connection the client broke with garbage after it", async () => {
    expect((await verify(verifierKey, { key: otherKey })).status).toBe(200); // the caller in memory
    const before = await answeredFast();
    const body = JSON.stringify({ key: otherKey });
    const answer = await rawExchange(
      daemon.url,
      [verifyHead(verifierKey, body, "garbage-after-1") + body + "GARBAGE\r\n\r\n"],
      1000,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('"valid"');
    await sleep(300);
    expect(accessLine(daemon.logs, "garbage-after-1")).toBeUndefined();
    expect(await answeredFast()).toBe(before);
  });

  it("authenticates a caller it leaves to the route only once (a token, a key not in memory)", async () => {
    const forged = `${Buffer.from('{"alg":"EdDSA","typ":"JWT","kid":"ed25519:x"}').toString("base64url")}.e30.c2ln`;
    const spy = vi.spyOn(daemon.authenticator, "authenticate");
    try {
      expect((await verify(forged, { key: otherKey })).status).toBe(401);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("a daemon shutting down", () => {
  it("answers a verification whose body comes after the shutdown began with Connection: close", async () => {
    const stopping = await startTestDaemon(nats.url);
    const body = JSON.stringify({ key: otherKey });
    // Once to get the caller into memory, then the head, the shutdown, the body.
    expect((await verify(verifierKey, { key: otherKey }, {}, "/v1/auth/verify", stopping.url)).status).toBe(200);
    const exchange = rawExchange(stopping.url, [verifyHead(verifierKey, body, "closing-1"), 300, body], 5000);
    await sleep(100);
    const stopped = stopping.stop();
    const answer = await exchange;
    await stopped;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain("connection: close");
  });
});

describe("at debug level", () => {
  let debugging: TestDaemon;

  beforeAll(async () => {
    debugging = await startTestDaemon(nats.url, { "log-level": "debug" });
  });

  afterAll(async () => {
    await debugging?.stop();
  });

  it("leaves verifications to the route, which logs each incoming request", async () => {
    for (let i = 0; i < 2; i++)
      expect(
        (await verify(verifierKey, { key: otherKey }, { "x-request-id": `debug-${i}` }, "/v1/auth/verify", debugging.url)).status,
      ).toBe(200);
    await waitUntil(() => debugging.logs.join("").includes("incoming request"), 5000);
    const incoming = debugging.logs
      .join("")
      .split("\n")
      .filter((line) => line.includes("incoming request") && line.includes('"debug-1"'));
    expect(incoming).toHaveLength(1);
    const text = await (await fetch(`${debugging.url}/metrics`)).text();
    expect(text).toMatch(/keyledger_verify_fast_path_total\{outcome="answered"\} 0/);
  });
});

describe("behind a trusted proxy", () => {
  let proxied: TestDaemon;

  beforeAll(async () => {
    proxied = await startTestDaemon(nats.url, { "trust-proxy": "1" });
  });

  afterAll(async () => {
    await proxied?.stop();
  });

  it("leaves every verification to the route, which reads the client's address from the proxy's header", async () => {
    const answer = await send(proxied.url, {
      method: "POST",
      url: "/v1/auth/verify",
      headers: { authorization: `Bearer ${verifierKey}`, "x-forwarded-for": "198.51.100.7", "x-request-id": "proxied-1" },
      body: { key: otherKey },
    });
    expect(answer.status).toBe(200);
    await waitUntil(() => accessLine(proxied.logs, "proxied-1") !== undefined, 5000);
    expect(accessLine(proxied.logs, "proxied-1").req.remoteAddress).toBe("198.51.100.7");
    const text = await (await fetch(`${proxied.url}/metrics`)).text();
    expect(text).toMatch(/keyledger_verify_fast_path_total\{outcome="answered"\} 0/);
  });
});
