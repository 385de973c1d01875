import { createHash, hash, randomBytes } from "node:crypto";
import { join } from "node:path";
import nacl from "tweetnacl";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createVerifier } from "../../src/client/index.js";
import { connectNats } from "../../src/nats/index.js";
import { signerFromSeed, verifySignature, type Signer } from "../../src/signing/index.js";
import { startTestDaemon } from "../../test/helpers/daemon.js";
import { client, waitUntil, type Client } from "../../test/helpers/http.js";
import { startTestNats, tempDir } from "../../test/helpers/nats.js";
import { opsPerSecond } from "../measure.js";
import { cliCommandRow, npmStartRow } from "./cli-start.js";
import { httpLoad, startBareFastify, type LoadResult } from "./http-load.js";
import { startDaemonProcess, type RunningDaemon } from "./processes.js";
import { median, percentile, rateRow, type Row } from "./report.js";
import type { BenchSizes } from "./sizes.js";

const log = (line: string) => process.stdout.write(`  … ${line}\n`);

/**
 * The rows that need a small history: verification over HTTP and in process, writes, and the
 * revocation feed, on a fresh nats-server with two daemon processes.
 */
export async function smallWorldRows(sizes: BenchSizes): Promise<Row[]> {
  const nats = await startTestNats();
  const aDir = await tempDir("keyledger-bench-a-");
  const a = await startDaemonProcess(nats.url, aDir);
  // The daemons share one signing key, as in the compose deployment: none of them waits for approval.
  const sharedKey = join(aDir, "signing.key");
  const b = await startDaemonProcess(nats.url, await tempDir("keyledger-bench-b-"), { "signing-key-file": sharedKey });
  try {
    const admin = client(a.url, await a.adminKey());
    const verifierAccount = await admin.post("/v1/service-accounts", { name: "bench-verifier", roles: ["verifier"] });
    const key: string = verifierAccount.body.apiKey.key;
    const rows: Row[] = [];
    const wanted = (id: string) => sizes.only === undefined || sizes.only.has(id);
    if (wanted("1")) rows.push(...(await verifyOverHttp(a, key, sizes)));
    if (wanted("2")) rows.push(...(await verifyInProcess(nats.url, await a.adminKey(), sharedKey, sizes)));
    if (wanted("3")) rows.push(...(await writes(admin, nats.url, sizes)));
    if (wanted("8")) rows.push(await revocationPropagation(b, admin, key, nats.url, sizes));
    if (wanted("E")) rows.push(...(await ed25519Rows(sizes)), ...(await signingCostRows(sizes)));
    if (wanted("C")) rows.push(await cliCommandRow(a, sizes), await npmStartRow(nats.url, sizes));
    return rows;
  } finally {
    await a.stop();
    await b.stop();
    await nats.stop();
  }
}

async function verifyOverHttp(daemon: RunningDaemon, key: string, sizes: BenchSizes): Promise<Row[]> {
  log("1. verify over HTTP");
  const url = `${daemon.url}/v1/auth/verify`;
  const request = {
    method: "POST" as const,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ key }),
    connections: sizes.httpConnections,
  };
  const answer = await fetch(url, request);
  const answerBody = await answer.text();
  if (answer.status !== 200 || !answerBody.includes('"valid":true')) throw new Error(`verify answered ${answer.status}`);
  const bare = await startBareFastify(answerBody, "bare");
  const shaped = await startBareFastify(answerBody, "schema");
  try {
    const targets = { bare: `${bare.url}/v1/auth/verify`, shaped: `${shaped.url}/v1/auth/verify`, ours: url };
    // Warm all three (JIT, connection pools), then measure them in turn, twice.
    for (const target of Object.values(targets)) await httpLoad({ ...request, url: target, seconds: 1 });
    const results: Record<keyof typeof targets, LoadResult[]> = { bare: [], shaped: [], ours: [] };
    for (let round = 0; round < 2; round++)
      for (const [name, target] of Object.entries(targets) as Array<[keyof typeof targets, string]>)
        results[name].push(await httpLoad({ ...request, url: target, seconds: sizes.httpSeconds }));
    const failed = results.ours.reduce((sum, result) => sum + result.non2xx + result.errors, 0);
    if (failed > 0) throw new Error(`${failed} verifications failed under load`);
    const best = (list: LoadResult[]) => list.reduce((x, y) => (y.requestsPerSecond > x.requestsPerSecond ? y : x));
    const figure = (result: LoadResult) => ({
      value: result.requestsPerSecond,
      unit: "req/s",
      detail: `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
    });
    const o = best(results.ours);
    const name = `POST /v1/auth/verify, autocannon ${sizes.httpConnections} connections`;
    return [
      rateRow(
        {
          id: "1",
          name,
          ours: figure(o),
          baselineName: "bare fastify route, constant JSON body",
          baseline: figure(best(results.bare)),
        },
        0.8,
        "best of two rounds each, interleaved; the load generator shares the 2 cores with the server",
      ),
      rateRow(
        {
          id: "1b",
          name,
          ours: figure(o),
          baselineName:
            "fastify route of the same shape: body and response schemas, an onRequest hook hashing the bearer key into a Map, a second SHA-256 (bench/baselines/schema-fastify.mjs)",
          baseline: figure(best(results.shaped)),
        },
        0.8,
        "what a verification needs without the daemon's features around it (access line, metrics, request ids, rate limits, usage)",
      ),
    ];
  } finally {
    await bare.stop();
    await shaped.stop();
  }
}

/** Runs `op` synchronously for about `ms` and answers operations per second. */
function syncOpsPerSecond(op: () => unknown, ms: number): number {
  const warm = performance.now() + ms / 5;
  while (performance.now() < warm) op();
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) op();
    count += 100;
  }
  return (count * 1000) / (performance.now() - start);
}

async function verifyInProcess(natsUrl: string, adminKey: string, keyFile: string, sizes: BenchSizes): Promise<Row[]> {
  log("2. verify in process");
  const daemon = await startTestDaemon(natsUrl, { "log-level": "silent", "signing-key-file": keyFile });
  try {
    const admin = client(daemon.url, adminKey);
    const created = await admin.post("/v1/service-accounts", { name: "in-process", roles: ["verifier"] });
    const key: string = created.body.apiKey.key;
    if (!(await daemon.authenticator.verifyKey(key)).valid) throw new Error("the key does not verify");
    const ours: number[] = [];
    const raw: number[] = [];
    const oneShot: number[] = [];
    for (let round = 0; round < 3; round++) {
      raw.push(syncOpsPerSecond(() => createHash("sha256").update(key).digest(), sizes.inProcessMs));
      oneShot.push(syncOpsPerSecond(() => hash("sha256", key), sizes.inProcessMs));
      ours.push(await opsPerSecond(() => daemon.authenticator.verifyKey(key), sizes.inProcessMs));
    }
    const row = rateRow(
      {
        id: "2",
        name: "API key verification in process (parse, hash, look up, check)",
        ours: { value: median(ours), unit: "ops/s" },
        baselineName: "one SHA-256 of the same key (node:crypto createHash, synchronous loop)",
        baseline: { value: median(raw), unit: "ops/s" },
      },
      0.5,
      `node:crypto's one-shot hash() does ${Math.round(median(oneShot)).toLocaleString("en-US")}/s here (keyledger uses it); against it the ratio is ${(median(ours) / median(oneShot)).toFixed(2)}`,
    );
    return [row, await unknownVersusKnown(daemon, key, sizes)];
  } finally {
    await daemon.stop();
  }
}

/**
 * 2b: the same verification for key ids the daemon never saw (each presented once, as a prober
 * sends them) against the known key in its cache (each a fresh string too, as a request parses it):
 * the answer must take the same time, so that timing does not tell which ids exist.
 */
async function unknownVersusKnown(
  daemon: Awaited<ReturnType<typeof startTestDaemon>>,
  key: string,
  sizes: BenchSizes,
): Promise<Row> {
  log("2b. verify in process: unknown key ids against the known one");
  const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const count = Math.max(2000, Math.round(sizes.inProcessMs * 40));
  // Flat strings, as parsed from a request body (not the concatenations a template would leave).
  const unknown = Array.from({ length: count }, () =>
    Buffer.from(
      `kl_${Array.from(randomBytes(26), (byte) => crockford[byte & 31]).join("")}_${randomBytes(32).toString("base64url")}`,
    ).toString(),
  );
  const known = Array.from({ length: count }, () => Buffer.from(key).toString());
  const medianMicros = async (keys: readonly string[]): Promise<number> => {
    const times: number[] = [];
    for (const presented of keys) {
      const start = process.hrtime.bigint();
      await daemon.authenticator.verifyKey(presented);
      times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    return median(times);
  };
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < 3; round++) {
    baseline.push(await medianMicros(known));
    ours.push(await medianMicros(unknown));
  }
  const ratio = median(baseline) / median(ours);
  return {
    id: "2b",
    name: `API key verification in process, ${count.toLocaleString("en-US")} key ids the daemon never saw (median per call)`,
    ours: { value: median(ours), unit: "µs" },
    baselineName: "the same for the known key, held in the cache (median per call)",
    baseline: { value: median(baseline), unit: "µs" },
    ratio,
    target: { text: "time ratio within 0.9 … 1.1 (equal work for unknown and known key ids)", met: ratio >= 0.9 && ratio <= 1.1 },
    note: "2b is a time ratio: known ÷ unknown, 1 means the same time",
  };
}

/** `concurrency` lanes, each calling `op(lane, n)` for `seconds`; answers operations per second. */
async function lanes(concurrency: number, seconds: number, op: (lane: number) => Promise<void>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (performance.now() < end) {
        await op(lane);
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

async function writes(admin: Client, natsUrl: string, sizes: BenchSizes): Promise<Row[]> {
  log("3. writes");
  // Each lane writes to accounts of its own (four, taken in turn, so that no account grows without end).
  const PER_LANE = 4;
  const accounts = Array.from({ length: 32 * PER_LANE }, (_, index) => `writer-${index}`);
  for (let start = 0; start < accounts.length; start += 32)
    await Promise.all(
      accounts.slice(start, start + 32).map(async (name) => {
        const created = await admin.post("/v1/service-accounts", { name });
        if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      }),
    );
  const expect = (status: number, wanted: number, what: string) => {
    if (status !== wanted) throw new Error(`${what} answered ${status}`);
  };
  let serial = 0;
  const turns = new Array<number>(32).fill(0);
  const accountOf = (lane: number) => accounts[lane * PER_LANE + (turns[lane]!++ % PER_LANE)];
  const create = async (lane: number) =>
    expect(
      (await admin.post(`/v1/service-accounts/${accountOf(lane)}/api-keys`, { name: `k${serial++}` })).status,
      201,
      "key create",
    );
  const rotate = async (lane: number) =>
    expect((await admin.post(`/v1/service-accounts/${accountOf(lane)}/api-keys/default/rotate`, {})).status, 200, "rotation");

  // The size of what a write appends: an envelope as the stream holds it.
  const sample = await admin.get(`/v1/events?account=${accounts[0]}&limit=10`);
  const envelope = sample.body.items.find((item: { type: string }) => item.type === "ApiKeyCreated");
  const { seq: _seq, ...stored } = envelope;
  const payload = randomBytes(Buffer.byteLength(JSON.stringify(stored)) / 2).toString("hex");

  const nc = await connectNats(natsUrl, "bench-raw");
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "RAWBENCH", subjects: ["rawbench.>"], storage: "file" as never, num_replicas: 1 });
  const js = jetstream(nc);
  const publish = async (lane: number) => void (await js.publish(`rawbench.${lane}`, payload));
  const rows: Row[] = [];
  try {
    await lanes(4, 0.5, create);
    await lanes(4, 0.5, rotate);
    await lanes(4, 0.5, publish);
    for (const [what, op] of [
      ["key creation", create],
      ["key rotation", rotate],
    ] as const) {
      for (const concurrency of [1, 32]) {
        const ours: number[] = [];
        const raw: number[] = [];
        for (let round = 0; round < 2; round++) {
          raw.push(await lanes(concurrency, sizes.writeSeconds, publish));
          ours.push(await lanes(concurrency, sizes.writeSeconds, op));
        }
        rows.push(
          rateRow(
            {
              id: `3${what === "key creation" ? "a" : "b"}${concurrency}`,
              name: `${what} over HTTP, read-your-writes, concurrency ${concurrency} (distinct accounts)`,
              ours: { value: Math.max(...ours), unit: "ops/s" },
              baselineName: `raw JetStream publish of ${payload.length} bytes, concurrency ${concurrency}`,
              baseline: { value: Math.max(...raw), unit: "ops/s" },
            },
            0.5,
          ),
        );
      }
    }
    return rows;
  } finally {
    await nc.close();
  }
}

async function revocationPropagation(
  b: RunningDaemon,
  admin: Client,
  verifierKey: string,
  natsUrl: string,
  sizes: BenchSizes,
): Promise<Row> {
  log(`8. revocation propagation (${sizes.revocations} revocations)`);
  const perAccount = 10;
  const keys: Array<{ path: string; key: string }> = [];
  const accounts = Math.ceil(sizes.revocations / perAccount);
  // Accounts side by side, each account's keys one after another (one account takes one write at a time).
  await Promise.all(
    Array.from({ length: accounts }, async (_, index) => {
      const name = `revocable-${index}`;
      const account = await admin.post("/v1/service-accounts", { name, createApiKey: false });
      if (account.status !== 201) throw new Error(`create answered ${account.status}`);
      for (let i = 0; i < perAccount && keys.length < sizes.revocations; i++) {
        const answer = await admin.post(`/v1/service-accounts/${name}/api-keys`, { name: `k${i}` });
        if (answer.status !== 201) throw new Error(`key create answered ${answer.status}`);
        keys.push({ path: `/v1/service-accounts/${name}/api-keys/${answer.body.id}`, key: answer.body.key });
      }
    }),
  );
  // Daemon B follows the stream on its own: wait until it knows the last key, then warm the cache.
  const onB = client(b.url, verifierKey);
  let last: unknown;
  await waitUntil(
    async () => {
      const answer = await onB.post("/v1/auth/verify", { key: keys.at(-1)!.key });
      last = { status: answer.status, body: answer.body };
      return answer.body?.valid === true;
    },
    30_000,
    20,
  ).catch(async (error: unknown) => {
    throw new Error(`daemon B does not know the keys: ${JSON.stringify(last)}\n${await b.logTail()}`, { cause: error });
  });
  const verifier = createVerifier({ url: b.url, apiKey: verifierKey, natsUrl, maxEntries: keys.length * 2 });
  try {
    await verifier.ready();
    for (const { key } of keys) {
      const result = await verifier.verify(key);
      if (!result.valid) throw new Error(`a fresh key does not verify: ${JSON.stringify(result)}`);
    }
    const latencies: number[] = [];
    for (const { path, key } of keys) {
      const answer = await admin.patch(path, { active: false });
      const answered = performance.now();
      if (answer.status !== 200) throw new Error(`deactivation answered ${answer.status}`);
      for (;;) {
        if (!(await verifier.verify(key)).valid) break;
        if (performance.now() - answered > 10_000) throw new Error("the verifier still accepts a revoked key after 10 s");
        await new Promise((resolve) => setImmediate(resolve));
      }
      latencies.push(performance.now() - answered);
    }
    const p99 = percentile(latencies, 99);
    return {
      id: "8",
      name: `revocation: deactivation answered by daemon A → SDK verifier (daemon B, NATS feed) rejects; ${latencies.length} keys`,
      ours: {
        value: p99,
        unit: "ms p99",
        detail: `p50 ${percentile(latencies, 50).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
      },
      baselineName: "(absolute target)",
      baseline: null,
      ratio: null,
      target: { text: "p99 < 1000 ms", met: p99 < 1000 },
    };
  } finally {
    await verifier.close();
  }
}

async function ed25519Rows(sizes: BenchSizes): Promise<Row[]> {
  log("E. Ed25519");
  const seed = randomBytes(32);
  const message = randomBytes(200);
  const fast = signerFromSeed(seed);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const signature = fast.sign(message);
  if (!nacl.sign.detached.verify(message, signature, pair.publicKey)) throw new Error("signatures differ");
  const ms = sizes.inProcessMs;
  return [
    rateRow(
      {
        id: "E1",
        name: "Ed25519 sign, node:crypto (hot paths)",
        ours: { value: syncOpsPerSecond(() => fast.sign(message), ms), unit: "ops/s" },
        baselineName: "tweetnacl sign (SDK, portable)",
        baseline: { value: syncOpsPerSecond(() => nacl.sign.detached(message, pair.secretKey), ms), unit: "ops/s" },
      },
      1,
    ),
    rateRow(
      {
        id: "E2",
        name: "Ed25519 verify, node:crypto (hot paths)",
        ours: { value: syncOpsPerSecond(() => verifySignature(fast.publicKey, message, signature), ms), unit: "ops/s" },
        baselineName: "tweetnacl verify (SDK, portable)",
        baseline: {
          value: syncOpsPerSecond(() => nacl.sign.detached.verify(message, signature, pair.publicKey), ms),
          unit: "ops/s",
        },
      },
      1,
    ),
  ];
}

/**
 * What the Ed25519 signature costs the write path (issue 4's budget: at most 10%): PATCH with
 * read-your-writes on two daemons in this process, one signing, one with the signature left out.
 */
async function signingCostRows(sizes: BenchSizes): Promise<Row[]> {
  log("E. signing on the write path");
  const real = signerFromSeed(randomBytes(32));
  // Signs the genesis for real (the ledger must have an anchor), then nothing: its own projector
  // does not check what its own daemon sealed, so the write path runs without the signature's cost.
  let genesis = true;
  const unsigned: Signer = {
    keyId: real.keyId,
    publicKey: real.publicKey,
    sign: (message) => {
      if (!genesis) return new Uint8Array(64);
      genesis = false;
      return real.sign(message);
    },
  };
  const natsA = await startTestNats();
  const natsB = await startTestNats();
  const settings = { "log-level": "silent", "checkpoint-interval-ms": "0" };
  const signed = await startTestDaemon(natsA.url, settings, { signer: real });
  const plain = await startTestDaemon(natsB.url, settings, { signer: unsigned });
  try {
    const prepare = async (daemon: typeof signed) => {
      const admin = client(daemon.url, await daemon.adminKey());
      for (let lane = 0; lane < 32; lane++) {
        const created = await admin.post("/v1/service-accounts", { name: `w${lane}` });
        if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      }
      let n = 0;
      return (concurrency: number) =>
        lanes(concurrency, sizes.writeSeconds / 2, async (lane) => {
          const answer = await admin.patch(`/v1/service-accounts/w${lane}`, { description: `d${n++}` });
          if (answer.status !== 200) throw new Error(`PATCH answered ${answer.status}`);
        });
    };
    const withSignature = await prepare(signed);
    const without = await prepare(plain);
    const rows: Row[] = [];
    for (const concurrency of [1, 32]) {
      const a: number[] = [];
      const b: number[] = [];
      // Five rounds, the order alternating, so that drift on a noisy machine hits both sides alike.
      for (let round = 0; round < 5; round++) {
        if (round % 2 === 0) b.push(await without(concurrency));
        a.push(await withSignature(concurrency));
        if (round % 2 === 1) b.push(await without(concurrency));
      }
      rows.push(
        rateRow(
          {
            id: `E${concurrency === 1 ? 3 : 4}`,
            name: `PATCH with read-your-writes, signed (node:crypto), concurrency ${concurrency}`,
            ours: { value: median(a), unit: "ops/s" },
            baselineName: "the same daemon with the signature left out",
            baseline: { value: median(b), unit: "ops/s" },
          },
          0.9,
        ),
      );
    }
    return rows;
  } finally {
    await signed.stop();
    await plain.stop();
    await natsA.stop();
    await natsB.stop();
  }
}
