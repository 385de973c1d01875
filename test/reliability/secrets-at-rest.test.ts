import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type EmbeddedNats } from "../../src/nats/index.js";
import { CLI } from "../helpers/cli.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon-process.js";
import { approveDaemons } from "../helpers/trust.js";
import { client, waitUntil, type Client } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

/**
 * Issue 5, item 7: after a full workflow on two real `keyledger serve` processes (log level trace),
 * no secret they issued is found in their logs, in the raw messages of any stream (events, name
 * claims, checkpoints, the revocation feed, the KV buckets), in LevelDB's files, or in the files of
 * the nats-server's store. A secret counts as found in any of the forms listed by `needles`.
 */

const STREAM = "KEYLEDGER";
const KV_BUCKETS = ["keyledger_usage", "keyledger_signing_keys"];

interface Served {
  readonly name: string;
  readonly url: string;
  readonly dataDir: string;
  readonly process: DaemonProcess;
}

interface Secret {
  readonly label: string;
  readonly value: string;
  /** Sent only as a segment of a URL path (where a client pastes a key meant for `:key`), checked on its own. */
  readonly pastedIntoPath?: boolean;
}

interface Needle {
  readonly label: string;
  readonly bytes: Buffer;
}

let storeDir: string;
let server: EmbeddedNats | undefined;
let a: Served;
let b: Served;
const secrets: Secret[] = [];
/** Stored facts that are not secret (hashes of the keys): each scan must find them, so that it reads the right bytes. */
const hashes: string[] = [];
/** The hash of a key that is still live at the end, so in the read model too. */
let liveHash = "";
let streamDump = "";
let kvDump = "";
let logs = "";
const levelFiles = new Map<string, Buffer>();
const levelEntries: string[] = [];
const natsFiles = new Map<string, Buffer>();

async function serve(name: string, natsUrl: string): Promise<Served> {
  const port = await freePort();
  const dataDir = await tempDir(`keyledger-secrets-${name}-`);
  const args = [
    CLI,
    "serve",
    ...["--port", String(port), "--data-dir", dataDir, "--nats-url", natsUrl, "--stream", STREAM],
    ...["--log-level", "trace", "--scheduler-interval-ms", "200", "--checkpoint-interval-ms", "500"],
    ...["--auth-failures-per-minute", "1000000"],
  ];
  const daemon = spawnDaemon(process.execPath, args, port, { env: { PATH: process.env.PATH, HOME: dataDir } });
  return { name, url: `http://127.0.0.1:${port}`, dataDir, process: daemon };
}

function remember(label: string, value: unknown, pastedIntoPath = false): string {
  if (typeof value !== "string" || value.length < 40) throw new Error(`${label} is not a credential: ${JSON.stringify(value)}`);
  secrets.push({ label, value, pastedIntoPath });
  return value;
}

const sha256 = (text: string): string => `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;

/**
 * Every form in which a secret would count as found: the whole string, and for an API key its
 * 43-character random part, overlapping 16-character pieces of it (a compressed file keeps a
 * random string as literals, but may cut it where four bytes happen to repeat), and the random
 * bytes and the whole key in base64, base64url and hex. For an access token: the whole token and
 * its signature (the part that makes it a credential).
 */
function needles(secret: Secret): Needle[] {
  const forms: [string, string][] = [["whole", secret.value]];
  const key = /^kl_[0-9A-Z]{26}_([A-Za-z0-9_-]{43})$/.exec(secret.value);
  if (key !== null) {
    const part = key[1]!;
    const raw = Buffer.from(part, "base64url");
    forms.push(["random part", part]);
    for (const offset of [0, 9, 18, 27]) forms.push([`random part [${offset}..${offset + 16})`, part.slice(offset, offset + 16)]);
    forms.push(["random bytes, base64", raw.toString("base64").replace(/=+$/, "")]);
    forms.push(["random bytes, hex", raw.toString("hex")]);
    forms.push(["whole key, base64", Buffer.from(secret.value).toString("base64").replace(/=+$/, "")]);
    forms.push(["whole key, hex", Buffer.from(secret.value).toString("hex")]);
  } else {
    const signature = secret.value.split(".")[2];
    if (signature !== undefined && signature.length >= 40) forms.push(["token signature", signature]);
  }
  return forms.map(([form, text]) => ({ label: `${secret.label} (${form})`, bytes: Buffer.from(text, "utf8") }));
}

/** The needles found in a haystack, by label. */
function leaks(haystack: Buffer | string, of: (secret: Secret) => boolean = () => true): string[] {
  const bytes = typeof haystack === "string" ? Buffer.from(haystack, "utf8") : haystack;
  return secrets
    .filter(of)
    .flatMap(needles)
    .flatMap((needle) => (bytes.includes(needle.bytes) ? [needle.label] : []));
}

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path, await readFile(path));
  }
  return files;
}

/** Every message of every stream on the server (KV buckets are streams too), subject, headers and payload. */
async function dumpStreams(natsUrl: string): Promise<{ streams: string[]; dump: string; kv: string }> {
  const nc = await connect({ servers: natsUrl, name: "secrets-scan" });
  try {
    const jsm = await jetstreamManager(nc);
    const streams: string[] = [];
    const lines: string[] = [];
    for await (const info of jsm.streams.list()) {
      streams.push(info.config.name);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(info.config.name, { seq });
        if (message === null) continue;
        const headers = message.header === undefined ? [] : [...message.header].map(([k, v]) => `${k}: ${v.join(",")}`);
        lines.push(`${info.config.name} ${seq} ${message.subject}\n${headers.join("\n")}\n${message.string()}`);
      }
    }
    const kvm = new Kvm(nc);
    const kv: string[] = [];
    for (const bucket of KV_BUCKETS) {
      const store = await kvm.open(bucket);
      for await (const key of await store.keys()) kv.push(`${bucket} ${key} ${(await store.get(key))?.string() ?? ""}`);
    }
    return { streams, dump: lines.join("\n"), kv: kv.join("\n") };
  } finally {
    await nc.close();
  }
}

/** Sends a request and answers its status; for an event stream, only its head is awaited. */
async function send(
  daemon: Served,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<number> {
  const controller = new AbortController();
  const response = await fetch(`${daemon.url}${path}`, {
    method,
    headers: options.headers,
    body: options.body,
    signal: controller.signal,
  });
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) controller.abort();
  else await response.text();
  return response.status;
}

const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });
const json = (credential: string, body: string): { headers: Record<string, string>; body: string } => ({
  headers: { ...bearer(credential), "content-type": "application/json" },
  body,
});

/** Every kind of route, presented with `credential` (a key or token of any standing, right or wrong). */
async function everyRoute(daemon: Served, credential: string): Promise<number[]> {
  const statuses: number[] = [];
  const call = async (method: string, path: string, body?: unknown) =>
    statuses.push(
      await send(
        daemon,
        method,
        path,
        body === undefined ? { headers: bearer(credential) } : json(credential, JSON.stringify(body)),
      ),
    );
  await call("GET", "/v1/service-accounts");
  await call("GET", "/v1/service-accounts/workload");
  await call("GET", "/v1/service-accounts/workload?asOf=1");
  await call("POST", "/v1/service-accounts", { name: "never-made-by-a-bad-credential", createApiKey: false, roles: ["x"] });
  await call("PATCH", "/v1/service-accounts/workload", { description: "touched" });
  await call("DELETE", "/v1/service-accounts/no-such-account");
  await call("GET", "/v1/service-accounts/workload/api-keys");
  await call("GET", "/v1/service-accounts/workload/api-keys/default");
  await call("POST", "/v1/service-accounts/workload/api-keys", { name: "" });
  await call("PATCH", "/v1/service-accounts/workload/api-keys/default", { description: "touched" });
  await call("POST", "/v1/service-accounts/no-such-account/api-keys/default/rotate", {});
  await call("DELETE", "/v1/service-accounts/no-such-account/api-keys/default");
  await call("POST", "/v1/auth/verify", { key: credential });
  await call("POST", "/v1/auth/token");
  await call("GET", "/v1/auth/whoami");
  await call("GET", "/v1/events?limit=5");
  await call("GET", "/v1/events/stream");
  await call("GET", "/v1/audit/verify");
  await call("GET", "/v1/audit/state?asOf=1");
  for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json", "/no/such/route"])
    await call("GET", path);
  return statuses;
}

/** Every way a careless client may send a credential where it does not belong. */
async function carelessly(daemon: Served, adminKey: string, secret: string): Promise<void> {
  const q = encodeURIComponent(secret);
  for (const path of [
    `/v1/service-accounts?key=${q}`,
    `/v1/service-accounts?name=${q}`,
    `/v1/service-accounts?cursor=${q}`,
    `/v1/auth/whoami?access_token=${q}`,
    `/v1/events?after=${q}`,
    `/healthz?apiKey=${q}`,
    `/no/such/route?token=${q}`,
  ]) {
    await send(daemon, "GET", path, { headers: bearer(adminKey) });
  }
  const bodies = [
    JSON.stringify({ key: secret }),
    JSON.stringify({ name: "careless", apiKey: secret }),
    JSON.stringify({ name: "careless", description: "x", secret }),
    JSON.stringify({ token: secret }),
    JSON.stringify({ retainSeconds: secret }),
    JSON.stringify({ name: secret }),
    `{"key":"${secret}"`, // malformed JSON holding the secret
    `{"key": ${secret}}`,
  ];
  for (const body of bodies) {
    await send(daemon, "POST", "/v1/auth/verify", json(adminKey, body));
    await send(daemon, "POST", "/v1/service-accounts", json(adminKey, body));
    await send(daemon, "PATCH", "/v1/service-accounts/workload/api-keys/default", json(adminKey, body));
    await send(daemon, "POST", "/v1/service-accounts/workload/api-keys/default/rotate", json("", body));
  }
  await send(daemon, "POST", "/v1/auth/verify", { headers: { ...bearer(adminKey), "content-type": "text/plain" }, body: secret });
  // The credential in the wrong header, or in the right one the wrong way.
  const misplaced: Record<string, string>[] = [
    { "x-api-key": secret },
    { authorization: secret },
    { authorization: `Basic ${Buffer.from(`user:${secret}`).toString("base64")}` },
    { authorization: `Bearer  ${secret} trailing` },
    { cookie: `keyledger=${secret}` },
  ];
  for (const headers of misplaced) await send(daemon, "GET", "/v1/auth/whoami", { headers });
}

beforeAll(async () => {
  storeDir = await tempDir("keyledger-nats-secrets-");
  server = await startNatsServer({ storeDir });
  a = await serve("A", server.url);
  b = await serve("B", server.url);
  await Promise.all([a.process.ready, b.process.ready]);
  let adminKey = "";
  for (const daemon of [a, b]) {
    adminKey = await readFile(join(daemon.dataDir, "admin.key"), "utf8").then(
      (text) => text.trim(),
      () => adminKey,
    );
  }
  remember("bootstrap admin key", adminKey);
  for (const daemon of [a, b]) {
    const seed = (await readFile(join(daemon.dataDir, "signing.key"), "utf8")).trim();
    secrets.push({ label: `signing key seed of ${daemon.name}`, value: seed });
  }
  const adminOn = (daemon: Served): Client => client(daemon.url, adminKey);
  await waitUntil(async () => (await adminOn(b).get("/v1/auth/whoami")).status === 200, 10_000, 20);
  // Each made its own signing key; the one that lost the genesis counts once an admin approved it.
  await approveDaemons(adminKey, [a.url, b.url]);
  const [onA, onB] = [adminOn(a), adminOn(b)];

  // The workflow: accounts and keys created, rotated (with and without retention), used, deactivated, deleted.
  const workload = await onA.post("/v1/service-accounts", { name: "workload", roles: ["verifier"] });
  const workloadKey = remember("workload/default, created", workload.body.apiKey.key);
  const second = remember(
    "workload/second, created",
    (await onA.post("/v1/service-accounts/workload/api-keys", { name: "second" })).body.key,
  );
  const third = remember(
    "workload/third, created",
    (await onA.post("/v1/service-accounts/workload/api-keys", { name: "third" })).body.key,
  );
  const secondRotated = remember(
    "workload/second, rotated retaining 60 s",
    (await onA.post("/v1/service-accounts/workload/api-keys/second/rotate", { retainSeconds: 60 })).body.key,
  );
  const defaultRotated = remember(
    "workload/default, rotated",
    (await onA.post("/v1/service-accounts/workload/api-keys/default/rotate", {})).body.key,
  );
  await waitUntil(async () => (await onB.get("/v1/service-accounts/workload/api-keys/third")).status === 200, 10_000, 20);
  remember(
    "workload/third, rotated on B retaining 1 s",
    (await onB.post("/v1/service-accounts/workload/api-keys/third/rotate", { retainSeconds: 1 })).body.key,
  );
  const ops = await onB.post("/v1/service-accounts", { name: "ops", roles: ["admin"] });
  const opsKey = remember("ops/default, created on B", ops.body.apiKey.key);
  const opsRotated = remember(
    "ops/default, rotated on B retaining 30 s",
    (await onB.post("/v1/service-accounts/ops/api-keys/default/rotate", { retainSeconds: 30 })).body.key,
  );
  const doomed = remember(
    "ops/doomed, created on B",
    (await onB.post("/v1/service-accounts/ops/api-keys", { name: "doomed", expiresAt: "2099-01-01T00:00:00Z" })).body.key,
  );
  // A key pasted where its id or name belongs, on each route that takes `:account` or `:key`.
  const pasted = remember(
    "ops/pasted, created on A, then sent in URL paths",
    (await onA.post("/v1/service-accounts/ops/api-keys", { name: "pasted" })).body.key,
    true,
  );
  for (const daemon of [a, b]) {
    for (const [method, path] of [
      ["GET", `/v1/service-accounts/${pasted}`],
      ["DELETE", `/v1/service-accounts/${pasted}`],
      ["GET", `/v1/service-accounts/${pasted}/api-keys`],
      ["GET", `/v1/service-accounts/ops/api-keys/${pasted}`],
      ["PATCH", `/v1/service-accounts/ops/api-keys/${pasted}`],
      ["DELETE", `/v1/service-accounts/ops/api-keys/${pasted}`],
      ["POST", `/v1/service-accounts/ops/api-keys/${pasted}/rotate`],
    ] as const) {
      const options = method === "GET" || method === "DELETE" ? { headers: bearer(adminKey) } : json(adminKey, "{}");
      expect(await send(daemon, method, path, options)).toBeGreaterThanOrEqual(400);
    }
  }
  const tokens = [
    remember("access token of admin on A", (await onA.post("/v1/auth/token")).body.accessToken),
    remember("access token of workload on A", (await client(a.url, defaultRotated).post("/v1/auth/token")).body.accessToken),
    remember("access token of ops (retained secret) on B", (await client(b.url, opsKey).post("/v1/auth/token")).body.accessToken),
    remember("access token of ops on A", (await client(a.url, opsRotated).post("/v1/auth/token")).body.accessToken),
  ];

  // Each credential, good or bad, on every kind of route of both daemons.
  const credentials = [adminKey, defaultRotated, secondRotated, second, workloadKey, opsKey, opsRotated, doomed, ...tokens];
  for (const daemon of [a, b]) for (const credential of credentials) await everyRoute(daemon, credential);
  // Failed logins: a wrong secret, an unknown key id, a forged and a truncated token.
  const wrong = `${workloadKey.slice(0, -1)}${workloadKey.endsWith("A") ? "B" : "A"}`;
  const unknown = `kl_${"0".repeat(26)}_${defaultRotated.slice(-43)}`;
  const forged = `${tokens[0]!.split(".").slice(0, 2).join(".")}.${tokens[1]!.split(".")[2]}`;
  for (const daemon of [a, b]) {
    for (const credential of [wrong, unknown, forged, tokens[0]!.slice(0, -5)]) {
      await send(daemon, "GET", "/v1/auth/whoami", { headers: bearer(credential) });
      await send(daemon, "POST", "/v1/auth/token", { headers: bearer(credential) });
      await send(daemon, "POST", "/v1/auth/verify", json(adminKey, JSON.stringify({ key: credential })));
    }
  }
  for (const daemon of [a, b])
    for (const secret of [defaultRotated, opsRotated, tokens[1]!]) await carelessly(daemon, adminKey, secret);

  // Deactivate, delete, let the scheduler close the retention of `third` (1 s).
  expect((await onA.patch("/v1/service-accounts/workload/api-keys/second", { active: false })).status).toBe(200);
  expect((await onB.delete("/v1/service-accounts/ops/api-keys/doomed")).status).toBe(204);
  expect((await onA.patch("/v1/service-accounts/workload", { active: false })).status).toBe(200);
  for (const daemon of [a, b]) await everyRoute(daemon, defaultRotated);
  expect((await onB.delete("/v1/service-accounts/workload")).status).toBe(204);
  expect(third.length).toBe(73);
  await waitUntil(
    async () =>
      ((await onA.get("/v1/events?type=ApiKeyRetentionExpired")).body.items as unknown[]).length > 0 &&
      ((await onA.get("/v1/events?type=ApiKeyRetentionExpired")).body.items as { actor: { kind: string } }[]).some(
        (event) => event.actor.kind === "system",
      ),
    10_000,
    100,
  );
  await waitUntil(async () => (await onB.get("/v1/service-accounts/workload")).status === 404, 10_000, 20);
  for (const secret of secrets) if (secret.value.startsWith("kl_")) hashes.push(sha256(secret.value));
  liveHash = sha256(opsRotated);

  // The stream and the KV buckets while the server runs; then the daemons stop (logs flushed, LevelDB closed).
  await new Promise((resolve) => setTimeout(resolve, 700)); // a checkpoint after the last events
  const streams = await dumpStreams(server.url);
  expect(streams.streams).toEqual(
    expect.arrayContaining([STREAM, `${STREAM}_REVOCATIONS`, ...KV_BUCKETS.map((bucket) => `KV_${bucket}`)]),
  );
  streamDump = streams.dump;
  kvDump = streams.kv;
  for (const daemon of [a, b]) {
    daemon.process.child.kill("SIGTERM");
    expect(await daemon.process.exited).toBe(0);
    logs += daemon.process.output();
    for (const [path, bytes] of await filesUnder(join(daemon.dataDir, "readmodel"))) levelFiles.set(path, bytes);
    const db = new Level<Buffer, Buffer>(join(daemon.dataDir, "readmodel"), { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    for await (const [key, value] of db.iterator()) levelEntries.push(`${key.toString("utf8")} ${value.toString("utf8")}`);
    await db.close();
  }
  await server.stop();
  server = undefined;
  for (const [path, bytes] of await filesUnder(storeDir)) natsFiles.set(path, bytes);
}, 90_000);

afterAll(async () => {
  for (const daemon of [a, b]) {
    if (daemon === undefined || daemon.process.child.exitCode !== null) continue;
    daemon.process.child.kill("SIGTERM");
    await daemon.process.exited;
  }
  await server?.stop();
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

describe("no secret issued by the daemons is at rest or in their logs", () => {
  it("collected the credentials of the workflow", () => {
    const keys = secrets.filter((secret) => secret.value.startsWith("kl_"));
    const tokens = secrets.filter((secret) => secret.label.startsWith("access token"));
    expect(keys.length).toBeGreaterThanOrEqual(10);
    expect(tokens).toHaveLength(4);
    expect(new Set(secrets.map((secret) => secret.value)).size).toBe(secrets.length);
  });

  it("finds none in the logs of either daemon, run at level trace", () => {
    // The logs are the real thing: debug lines, the key file's path, the scheduler's work.
    expect(logs).toContain('"level":20');
    expect(logs).toContain("/v1/auth/verify");
    expect(logs).toContain("admin.key");
    expect(logs).toContain('"msg":"stopped"');
    expect(leaks(logs, (secret) => !secret.pastedIntoPath)).toEqual([]);
  });

  it("finds none in the logs when a client pasted a key into a URL path instead of its id or name", () => {
    const pasted = secrets.find((secret) => secret.pastedIntoPath === true)!;
    const line = logs.split("\n").find((text) => text.includes(pasted.value.slice(-43))) ?? "";
    expect(
      leaks(logs, (secret) => secret === pasted),
      `for example: ${line}`,
    ).toEqual([]);
  });

  it("finds none in the raw messages of any stream (events, claims, checkpoints, revocation feed, KV buckets), headers included", () => {
    expect(streamDump).toContain("ApiKeyRetentionExpired");
    expect(streamDump).toContain("Kl-Event-Type: ApiKeyRotated");
    for (const hash of hashes) expect(streamDump).toContain(hash);
    expect(leaks(streamDump)).toEqual([]);
  });

  it("finds none in the KV buckets' entries", () => {
    expect(kvDump).toContain("keyledger_usage key_");
    expect(kvDump).toContain("keyledger_signing_keys");
    expect(leaks(kvDump)).toEqual([]);
  });

  it("finds none in LevelDB's files on disk, nor in its keys and values", () => {
    expect(levelFiles.size).toBeGreaterThan(4);
    expect(Buffer.concat([...levelFiles.values()]).includes("sha256:")).toBe(true);
    const entries = levelEntries.join("\n");
    expect(entries).toContain(liveHash);
    const found = [...levelFiles].flatMap(([path, bytes]) => leaks(bytes).map((label) => `${path}: ${label}`));
    expect(found).toEqual([]);
    expect(leaks(entries)).toEqual([]);
  });

  it("finds none in the nats-server's store files", () => {
    expect(natsFiles.size).toBeGreaterThan(4);
    const all = Buffer.concat([...natsFiles.values()]);
    for (const hash of hashes) expect(all.includes(hash)).toBe(true);
    const found = [...natsFiles].flatMap(([path, bytes]) => leaks(bytes).map((label) => `${path}: ${label}`));
    expect(found).toEqual([]);
  });
});
