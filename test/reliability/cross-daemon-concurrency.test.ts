import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon-process.js";
import { approveDaemons } from "../helpers/trust.js";
import { client, sleep, waitUntil, type Answer, type Client } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

/**
 * Issue 5, item 4: two real `keyledger serve` processes on one stream, driven from this process.
 * Every write answered 2xx is recorded and then looked up in the raw stream.
 */

const STREAM = "KEYLEDGER";
/** The one speed bound of this file: a product promise, not a benchmark. */
const DEACTIVATION_BOUND_MS = 1000;

interface Served {
  readonly name: string;
  readonly url: string;
  readonly dataDir: string;
  readonly process: DaemonProcess;
}

/** One message of the stream as stored, with its envelope parsed when it is an event. */
interface Envelope {
  readonly seq: number;
  readonly subject: string;
  readonly id: string;
  readonly type: string;
  readonly accountId: string;
  readonly occurredAt: string;
  readonly actor: { kind: string; reason?: string };
  readonly requestId: string | null;
  readonly data: Record<string, any>;
  readonly accountVersion: number;
  readonly prevHash: string | null;
  readonly hash: string;
  readonly signingKeyId: string;
}

/** One HTTP write and how it went, timed on this process's monotonic clock. */
interface Attempt {
  readonly requestId: string;
  readonly daemon: string;
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly answer: Answer;
}

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let a: Served;
let b: Served;
let adminKey: string;

async function serve(name: string): Promise<Served> {
  const port = await freePort();
  const dataDir = await tempDir(`keyledger-cc-${name}-`);
  const args = [
    CLI,
    "serve",
    ...["--port", String(port), "--data-dir", dataDir, "--nats-url", nats.url, "--stream", STREAM],
    ...["--scheduler-interval-ms", "200", "--checkpoint-interval-ms", "1000", "--auth-failures-per-minute", "1000000"],
    ...["--log-level", "info"],
  ];
  const daemon = spawnDaemon(process.execPath, args, port, { env: { PATH: process.env.PATH, HOME: dataDir } });
  return { name, url: `http://127.0.0.1:${port}`, dataDir, process: daemon };
}

async function adminKeyOf(daemons: readonly Served[]): Promise<string> {
  for (const daemon of daemons) {
    try {
      return (await readFile(join(daemon.dataDir, "admin.key"), "utf8")).trim();
    } catch {
      // the other one bootstrapped
    }
  }
  throw new Error("no daemon wrote admin.key");
}

const sha256 = (text: string): string => `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
const hintOf = (key: string): string => `${key.slice(0, 3 + 26 + 1 + 4)}…`;
const api = (daemon: Served, credential = adminKey): Client => client(daemon.url, credential);

/** A write with our own request id, which the daemon puts into the event it appends. */
async function attempt(daemon: Served, method: string, path: string, body: unknown, label: string): Promise<Attempt> {
  const requestId = `${label}-${randomUUID().slice(0, 8)}`;
  const sentAt = performance.now();
  const answer = await api(daemon).call(method, path, body, { "x-request-id": requestId });
  return { requestId, daemon: daemon.name, sentAt, receivedAt: performance.now(), answer };
}

/** Every event in the stream, in stream order, read message by message from the raw stream. */
async function streamEvents(): Promise<Envelope[]> {
  const info = await jsm.streams.info(STREAM);
  const events: Envelope[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(STREAM, { seq });
    if (message === null || !message.subject.startsWith("kl.acct.")) continue;
    events.push({ ...(JSON.parse(message.string()) as Omit<Envelope, "seq" | "subject">), seq, subject: message.subject });
  }
  return events;
}

/** Waits until a daemon's read model holds an account (it follows the stream written by the other). */
async function seenBy(daemon: Served, account: string): Promise<void> {
  await waitUntil(async () => (await api(daemon).get(`/v1/service-accounts/${account}`)).status === 200, 10_000, 20);
}

async function verifyOn(daemon: Served, key: string): Promise<{ valid: boolean; code?: string; credential?: string }> {
  const answer = await api(daemon).post("/v1/auth/verify", { key });
  expect(answer.status).toBe(200);
  return answer.body;
}

/**
 * Reads until `done` holds or the time is up, and answers the last reading either way, so that the
 * assertion after it says what was wrong rather than that time ran out.
 */
async function settled<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(stepMs);
  }
}

/** Checks the per-account chain: versions 1, 2, 3, … and each prevHash naming the previous event's hash. */
function expectOneLine(events: readonly Envelope[]): void {
  events.forEach((event, index) => {
    expect(event.accountVersion, `version of ${event.type} at ${event.seq}`).toBe(index + 1);
    expect(event.prevHash, `prevHash of ${event.type} at ${event.seq}`).toBe(index === 0 ? null : events[index - 1]!.hash);
  });
}

/** If X was answered before Y was sent, Y was decided on a state that includes X: it comes later. */
function expectCausalOrder(answered: readonly Attempt[], generationOf: (attempt: Attempt) => number): void {
  for (const x of answered) {
    for (const y of answered) {
      if (x.receivedAt < y.sentAt) {
        expect(generationOf(x), `${x.requestId} answered before ${y.requestId} was sent`).toBeLessThan(generationOf(y));
      }
    }
  }
}

/**
 * How a secret that is no longer current is refused: the one just before the current one (its
 * retention over) as `retention_expired`, any older one as unknown.
 */
function refusal(generation: number, current: number): { valid: false; code: string } {
  return { valid: false, code: generation === current - 1 ? "retention_expired" : "not_found" };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

beforeAll(async () => {
  nats = await startTestNats();
  [a, b] = [await serve("A"), await serve("B")];
  await Promise.all([a.process.ready, b.process.ready]);
  adminKey = await adminKeyOf([a, b]);
  await waitUntil(async () => (await api(a).get("/v1/auth/whoami")).status === 200, 10_000, 20);
  await waitUntil(async () => (await api(b).get("/v1/auth/whoami")).status === 200, 10_000, 20);
  // Each made its own signing key; the one that lost the genesis counts once an admin approved it.
  await approveDaemons(adminKey, [a.url, b.url]);
  nc = await connect({ servers: nats.url, name: "cross-daemon-test" });
  jsm = await jetstreamManager(nc);
}, 90_000);

afterAll(async () => {
  await nc?.close();
  for (const daemon of [a, b]) {
    if (daemon === undefined) continue;
    daemon.process.child.kill("SIGTERM");
    await daemon.process.exited;
  }
  await nats?.stop();
});

describe("two keyledger serve processes on one stream", () => {
  it("records every answered rotation of one key exactly once, in one line of generations, and the last one in the stream is the secret that works", async () => {
    const created = await api(a).post("/v1/service-accounts", { name: "rotated-everywhere" });
    expect(created.status).toBe(201);
    const keyId: string = created.body.apiKey.id;
    const accountId: string = created.body.serviceAccount.id;
    await seenBy(b, "rotated-everywhere");
    const path = "/v1/service-accounts/rotated-everywhere/api-keys/default/rotate";
    const rotate = (daemon: Served, label: string) => attempt(daemon, "POST", path, {}, label);

    // One burst of 20 at once, split over both daemons; then waves of 6 (each wave after the last answered);
    // then one more, alone, on the daemon that did not write the account.
    const attempts: Attempt[] = [];
    const groups: Attempt[][] = [];
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => rotate(i % 2 === 0 ? a : b, `burst-${i}`)));
    groups.push(burst);
    for (let wave = 0; wave < 4; wave++) {
      groups.push(await Promise.all(Array.from({ length: 6 }, (_, i) => rotate(i % 2 === 0 ? a : b, `wave${wave}-${i}`))));
    }
    const lastAnswered = await rotate(b, "last");
    expect(lastAnswered.answer.status).toBe(200);
    groups.push([lastAnswered]);
    for (const group of groups) attempts.push(...group);

    // Only 200 (in the stream) or 409 (retries exhausted, nothing of it in the stream) are acceptable.
    for (const { requestId, answer } of attempts)
      expect([200, 409], `${requestId}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
    // Of writers racing on one account, one always wins: each group has at least one answered rotation.
    for (const group of groups) expect(group.some((entry) => entry.answer.status === 200)).toBe(true);
    const answered = attempts.filter((entry) => entry.answer.status === 200);
    const refused = attempts.filter((entry) => entry.answer.status === 409);
    for (const entry of refused) expect(entry.answer.body.error.code).toBe("conflict");

    const events = (await streamEvents()).filter((event) => event.accountId === accountId);
    expectOneLine(events);
    const rotations = events.filter((event) => event.type === "ApiKeyRotated" && event.data.keyId === keyId);
    // Every answered rotation is in the stream exactly once, and nothing of a refused one is.
    expect(rotations.map((event) => event.requestId).sort()).toEqual(answered.map((entry) => entry.requestId).sort());
    const refusedIds = new Set(refused.map((entry) => entry.requestId));
    expect(events.filter((event) => refusedIds.has(event.requestId!))).toEqual([]);
    // In stream order, the generations go 1, 2, 3, … without a gap or a repeat.
    expect(rotations.map((event) => event.data.generation)).toEqual(rotations.map((_, index) => index + 1));

    const byRequest = new Map(answered.map((entry) => [entry.requestId, entry]));
    const generationOf = new Map(rotations.map((event) => [event.requestId!, event.data.generation as number]));
    for (const event of rotations) {
      const entry = byRequest.get(event.requestId!)!;
      // The event holds the hash of exactly the secret that answer carried, and the answer describes that secret.
      expect(event.data.secretHash).toBe(sha256(entry.answer.body.key));
      expect(entry.answer.body.hint, `hint of the answer to ${entry.requestId}`).toBe(hintOf(entry.answer.body.key));
      expect(entry.answer.body.id).toBe(keyId);
    }
    expectCausalOrder(answered, (entry) => generationOf.get(entry.requestId)!);

    // The last rotation answered is the last in the stream, and its secret is the one that works on both
    // daemons; every other one is dead.
    const last = byRequest.get(rotations.at(-1)!.requestId!)!;
    expect(last.requestId).toBe(lastAnswered.requestId);
    for (const daemon of [a, b]) {
      const current = await settled(
        () => verifyOn(daemon, last.answer.body.key),
        (answer) => answer.credential === "current",
      );
      expect(current, `the last rotation's secret on ${daemon.name}`).toMatchObject({ valid: true, credential: "current" });
      for (const entry of answered) {
        if (entry === last) continue;
        expect(await verifyOn(daemon, entry.answer.body.key), `${entry.requestId} on ${daemon.name}`).toEqual(
          refusal(generationOf.get(entry.requestId)!, rotations.length),
        );
      }
      const key = await api(daemon).get("/v1/service-accounts/rotated-everywhere/api-keys/default");
      expect(key.body.hint).toBe(hintOf(last.answer.body.key));
    }
    console.log(
      `concurrent rotations: ${answered.length} answered 200, ${refused.length} answered 409, ${rotations.length} in the stream`,
    );
  }, 60_000);

  it("answers concurrent creates of one name on both daemons with exactly one 201, and both daemons agree on the owner", async () => {
    const names = Array.from({ length: 6 }, (_, i) => `contested-${i}`);
    const attempts = await Promise.all(
      names.flatMap((name) =>
        Array.from({ length: 6 }, (_, i) =>
          attempt(i % 2 === 0 ? a : b, "POST", "/v1/service-accounts", { name }, `create-${name}-${i}`).then((entry) => ({
            name,
            ...entry,
          })),
        ),
      ),
    );
    const events = await streamEvents();
    for (const name of names) {
      const mine = attempts.filter((entry) => entry.name === name);
      for (const { requestId, answer } of mine)
        expect([201, 409], `${requestId}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      const winners = mine.filter((entry) => entry.answer.status === 201);
      expect(winners, name).toHaveLength(1);
      const winner = winners[0]!;
      const ownerId: string = winner.answer.body.serviceAccount.id;
      for (const entry of mine) if (entry !== winner) expect(entry.answer.body.error.code).toBe("conflict");

      // In the stream: the winner's creation; any other creation of the name was undone (deleted) in the same request.
      const creations = events.filter((event) => event.type === "ServiceAccountCreated" && event.data.name === name);
      expect(creations.filter((event) => event.accountId === ownerId)).toHaveLength(1);
      for (const loser of creations.filter((event) => event.accountId !== ownerId)) {
        const deleted = events.find((event) => event.accountId === loser.accountId && event.type === "ServiceAccountDeleted");
        expect(deleted, `a second account named ${name} still stands: ${loser.accountId}`).toBeDefined();
        expect(mine.find((entry) => entry.requestId === loser.requestId)?.answer.status).toBe(409);
      }
      // Both read models name the same owner, and the winner's key works on both.
      for (const daemon of [a, b]) {
        const owner = await settled(
          async () => (await api(daemon).get(`/v1/service-accounts/${name}`)).body?.id,
          (id) => id === ownerId,
        );
        expect(owner, `owner of ${name} on ${daemon.name}`).toBe(ownerId);
        expect(await verifyOn(daemon, winner.answer.body.apiKey.key)).toMatchObject({ valid: true, credential: "current" });
      }
    }
    // Of each name, exactly one live account on each daemon.
    for (const daemon of [a, b]) {
      const listed = await api(daemon).get("/v1/service-accounts?name=contested-&limit=500");
      expect(listed.body.items.map((item: { name: string }) => item.name).sort()).toEqual([...names].sort());
    }
  }, 60_000);

  it("refuses a key or an account deactivated on one daemon on the other within one second", async () => {
    const latencies: { what: string; ms: number }[] = [];
    for (let round = 0; round < 20; round++) {
      const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a];
      const whole = round % 4 >= 2; // rounds 2, 3, 6, 7, …: the account, else the key
      const name = `deactivated-${round}`;
      const created = await api(writer).post("/v1/service-accounts", { name });
      expect(created.status).toBe(201);
      const key: string = created.body.apiKey.key;
      const token: string = (await api(writer, key).post("/v1/auth/token")).body.accessToken;
      expect(typeof token).toBe("string");
      await waitUntil(async () => (await verifyOn(reader, key)).valid, 10_000, 10);
      expect((await api(reader, token).get("/v1/auth/whoami")).status).toBe(200);

      const path = whole ? `/v1/service-accounts/${name}` : `/v1/service-accounts/${name}/api-keys/default`;
      const deactivated = await api(writer).patch(path, { active: false });
      const answeredAt = performance.now();
      expect(deactivated.status).toBe(200);
      const code = whole ? "inactive_account" : "inactive_key";
      // On the daemon that answered, it holds before the answer.
      expect(await verifyOn(writer, key)).toEqual({ valid: false, code });
      expect((await api(writer, key).get("/v1/auth/whoami")).status).toBe(401);

      // On the other: poll each way of presenting the credential until it is refused.
      const refusedAfter = async (check: () => Promise<boolean>): Promise<number> => {
        while (!(await check())) {
          if (performance.now() - answeredAt > 5000) return Number.POSITIVE_INFINITY;
          await sleep(2);
        }
        return performance.now() - answeredAt;
      };
      const [byVerify, byKey, byToken] = await Promise.all([
        refusedAfter(async () => (await verifyOn(reader, key)).valid === false),
        refusedAfter(async () => (await api(reader, key).get("/v1/auth/whoami")).status === 401),
        refusedAfter(async () => (await api(reader, token).get("/v1/auth/whoami")).status === 401),
      ]);
      const ms = Math.max(byVerify, byKey, byToken);
      latencies.push({ what: whole ? "account" : "key", ms });
      expect(ms, `${whole ? "account" : "key"} deactivated on ${writer.name}, still accepted on ${reader.name}`).toBeLessThan(
        DEACTIVATION_BOUND_MS,
      );
      expect(await verifyOn(reader, key)).toEqual({ valid: false, code });
    }
    const all = latencies.map((entry) => entry.ms);
    console.log(
      `deactivation seen by the other daemon: p50 ${percentile(all, 50).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms ` +
        `over ${all.length} rounds (${latencies.filter((entry) => entry.what === "key").length} keys, ` +
        `${latencies.filter((entry) => entry.what === "account").length} accounts)`,
    );
  }, 60_000);

  it("appends exactly one ApiKeyRetentionExpired per retaining rotation while both schedulers race, superseded or at the deadline", async () => {
    const keys: { account: string; key: string; id: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const account = `retaining-${i}`;
      const created = await api(i % 2 === 0 ? a : b).post("/v1/service-accounts", { name: account });
      expect(created.status).toBe(201);
      keys.push({ account, key: "default", id: created.body.apiKey.id });
      await seenBy(a, account);
      await seenBy(b, account);
      const second = await api(i % 2 === 0 ? b : a).post(`/v1/service-accounts/${account}/api-keys`, { name: "second" });
      expect(second.status).toBe(201);
      keys.push({ account, key: "second", id: second.body.id });
    }
    await waitUntil(async () => (await api(a).get("/v1/service-accounts/retaining-2/api-keys/second")).status === 200);
    await waitUntil(async () => (await api(b).get("/v1/service-accounts/retaining-2/api-keys/second")).status === 200);
    const rotatePath = (entry: { account: string; key: string }) =>
      `/v1/service-accounts/${entry.account}/api-keys/${entry.key}/rotate`;
    const answers: Attempt[] = [];
    const record = (entry: Attempt): Attempt => (answers.push(entry), entry);

    // Every key: one rotation retaining the old secret for 1 s, on alternating daemons, all due at about the same time.
    await Promise.all(
      keys.map((entry, i) =>
        attempt(i % 2 === 0 ? a : b, "POST", rotatePath(entry), { retainSeconds: 1 }, `retain-${i}`).then(record),
      ),
    );
    // Rotation while retained: the first two keys are rotated again at once on the other daemon (supersedes).
    for (const [i, entry] of keys.slice(0, 2).entries()) {
      record(await attempt(i % 2 === 0 ? b : a, "POST", rotatePath(entry), { retainSeconds: 2 }, `supersede-${i}`));
    }
    // A burst of retaining rotations of one key on both daemons: each supersedes the one before it.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        attempt(i % 2 === 0 ? a : b, "POST", rotatePath(keys[2]!), { retainSeconds: 1 }, `burst-retain-${i}`).then(record),
      ),
    );
    for (const { requestId, answer } of answers)
      expect([200, 409], `${requestId}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
    const answered = answers.filter((entry) => entry.answer.status === 200);
    expect(answered.length).toBeGreaterThanOrEqual(keys.length + 2 + 1);

    const keyIds = new Set(keys.map((entry) => entry.id));
    const ofOurKeys = (events: readonly Envelope[]) =>
      events.filter((event) => typeof event.data.keyId === "string" && keyIds.has(event.data.keyId));
    const retaining = (events: readonly Envelope[]) =>
      ofOurKeys(events).filter((event) => event.type === "ApiKeyRotated" && event.data.retainedUntil !== null);
    const expiries = (events: readonly Envelope[]) =>
      ofOurKeys(events).filter((event) => event.type === "ApiKeyRetentionExpired");

    // Wait past every deadline, until each retention is closed, then for several more ticks of both schedulers.
    await settled(streamEvents, (events) => expiries(events).length >= retaining(events).length, 20_000, 100);
    await sleep(1500);
    const events = await streamEvents();
    const rotations = retaining(events);
    expect(rotations.map((event) => event.requestId).sort()).toEqual(answered.map((entry) => entry.requestId).sort());
    const closed = expiries(events);
    const expected = rotations.map((event) => `${event.data.keyId}:${event.data.generation - 1}`).sort();
    // Exactly one expiry per retaining rotation (its previous generation), none twice.
    expect(closed.map((event) => `${event.data.keyId}:${event.data.generation}`).sort()).toEqual(expected);

    // In each key's history, every retention is closed before the next rotation (at most one retained secret),
    // by that rotation ("superseded") or by a scheduler at or after its deadline ("deadline").
    let superseded = 0;
    let deadline = 0;
    for (const id of keyIds) {
      const history = ofOurKeys(events).filter((event) => event.data.keyId === id);
      let pending: { generation: number; retainedUntil: string } | null = null;
      for (const event of history) {
        if (event.type === "ApiKeyRotated") {
          expect(pending, `rotation at ${event.seq} while generation ${pending?.generation} is still retained`).toBeNull();
          pending =
            event.data.retainedUntil === null
              ? null
              : { generation: event.data.generation - 1, retainedUntil: event.data.retainedUntil };
        } else if (event.type === "ApiKeyRetentionExpired") {
          expect(pending?.generation, `expiry at ${event.seq}`).toBe(event.data.generation);
          if (event.data.reason === "deadline") {
            deadline += 1;
            expect(event.actor).toEqual({ kind: "system", reason: "scheduler" });
            expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(Date.parse(pending!.retainedUntil));
          } else {
            superseded += 1;
            expect(event.data.reason).toBe("superseded");
            expect(event.actor.kind).toBe("service_account");
          }
          pending = null;
        }
      }
      expect(pending, `key ${id} still has a retention open`).toBeNull();
    }
    expect(superseded).toBeGreaterThanOrEqual(2);
    expect(deadline).toBe(keys.length);
    // Both daemons see every retention closed, and every secret but the current one of each key refused.
    const rotationOf = new Map(rotations.map((event) => [event.requestId!, event]));
    const currentOf = new Map([...keyIds].map((id) => [id, rotations.filter((event) => event.data.keyId === id).at(-1)!]));
    for (const daemon of [a, b]) {
      for (const entry of keys) {
        const key = await api(daemon).get(`/v1/service-accounts/${entry.account}/api-keys/${entry.key}`);
        expect(key.body.retainedUntil, `${entry.account}/${entry.key} on ${daemon.name}`).toBeNull();
      }
      for (const entry of answered) {
        const check = await verifyOn(daemon, entry.answer.body.key);
        const { data } = rotationOf.get(entry.requestId)!;
        const current = currentOf.get(data.keyId)!.data.generation as number;
        if (data.generation === current) expect(check, entry.requestId).toMatchObject({ valid: true, credential: "current" });
        else expect(check, entry.requestId).toEqual(refusal(data.generation, current));
      }
    }
    // Which scheduler won each deadline (each daemon signs with its own key).
    const signerOf = (daemon: Served) => /"keyId":"([^"]+)","msg":"signing key created"/.exec(daemon.process.output())?.[1];
    const byScheduler = [a, b].map(
      (daemon) =>
        `${daemon.name} ${closed.filter((event) => event.data.reason === "deadline" && event.signingKeyId === signerOf(daemon)).length}`,
    );
    // A rotation that supersedes appends two events one after the other (nats-server 2.9 has no atomic batch):
    // when it then loses the race and answers 409, its first event stays. Reported, not asserted (README, 2.12).
    const refusedIds = new Set(answers.filter((entry) => entry.answer.status === 409).map((entry) => entry.requestId));
    const leftByRefused = events.filter((event) => refusedIds.has(event.requestId!));
    console.log(
      `retention: ${rotations.length} retaining rotations, ${deadline} closed at the deadline (by ${byScheduler.join(", ")}), ` +
        `${superseded} superseded; ${refusedIds.size} rotations answered 409, leaving ${leftByRefused.length} events` +
        leftByRefused.map((event) => ` ${event.type}(${event.data.reason ?? ""})`).join(""),
    );
  }, 60_000);
});
