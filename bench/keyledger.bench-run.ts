import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { afterAll, beforeAll, expect, it } from "vitest";
import { jetstream } from "@nats-io/jetstream";
import { signerFromSeed, verifySignature } from "../src/signing/index.js";
import { startTestDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { client } from "../test/helpers/http.js";
import { startTestNats, type TestNats } from "../test/helpers/nats.js";
import { connectNats } from "../src/nats/index.js";
import { opsPerSecond, printTable } from "./measure.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "log-level": "silent", "auth-failures-per-minute": "1000000" });
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

it("Ed25519: node:crypto (hot paths) against tweetnacl (portable)", async () => {
  const seed = randomBytes(32);
  const message = randomBytes(200);
  const fast = signerFromSeed(seed);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const signature = fast.sign(message);
  expect(nacl.sign.detached.verify(message, signature, pair.publicKey)).toBe(true);
  const naclSign = await opsPerSecond(() => nacl.sign.detached(message, pair.secretKey), 500);
  const naclVerify = await opsPerSecond(() => nacl.sign.detached.verify(message, signature, pair.publicKey), 500);
  printTable("Ed25519 (ratios against tweetnacl in this run)", [
    {
      name: "node:crypto sign",
      opsPerSecond: await opsPerSecond(() => fast.sign(message), 500),
      baseline: "tweetnacl sign",
      baselineOpsPerSecond: naclSign,
    },
    {
      name: "node:crypto verify",
      opsPerSecond: await opsPerSecond(() => verifySignature(fast.publicKey, message, signature), 500),
      baseline: "tweetnacl verify",
      baselineOpsPerSecond: naclVerify,
    },
  ]);
});

it("verification and writes: ratios against raw LevelDB, raw JetStream and raw Ed25519", async () => {
  const admin = client(daemon.url, await daemon.adminKey());
  const created = await admin.post("/v1/service-accounts", { name: "bench", roles: ["verifier"] });
  const key: string = created.body.apiKey.key;
  const token: string = (await client(daemon.url, key).post("/v1/auth/token")).body.accessToken;
  const verifier = client(daemon.url, key);
  const viaToken = client(daemon.url, token);
  expect((await verifier.post("/v1/auth/verify", { key })).body.valid).toBe(true);
  expect(await daemon.authenticator.authenticate(token)).not.toBeNull();

  const db = daemon.readModel.db;
  const rawGet = await opsPerSecond(() => db.get("meta!checkpoint"));
  const rawHttp = await opsPerSecond(() => fetch(`${daemon.url}/healthz`).then((r) => r.text()));

  const nc = await connectNats(nats.url, "bench");
  const js = jetstream(nc);
  let n = 0;
  const rawPublish = await opsPerSecond(() => js.publish(`kl.name.bench${n++ % 1000}`, "x"), 1000);
  await nc.close();

  const fast = signerFromSeed(randomBytes(32));
  const message = randomBytes(200);
  const signature = fast.sign(message);
  const rawVerify = await opsPerSecond(() => verifySignature(fast.publicKey, message, signature), 500);

  let k = 0;
  printTable("Hot paths (ratio < 1: slower than the raw baseline)", [
    {
      name: "POST /v1/auth/verify over HTTP",
      opsPerSecond: await opsPerSecond(() => verifier.post("/v1/auth/verify", { key })),
      baseline: "GET /healthz",
      baselineOpsPerSecond: rawHttp,
    },
    {
      name: "GET /v1/auth/whoami with an access token",
      opsPerSecond: await opsPerSecond(() => viaToken.get("/v1/auth/whoami")),
      baseline: "GET /healthz",
      baselineOpsPerSecond: rawHttp,
    },
    {
      name: "access token check (cached) in process",
      opsPerSecond: await opsPerSecond(() => daemon.authenticator.authenticate(token)),
      baseline: "raw Ed25519 verify",
      baselineOpsPerSecond: rawVerify,
    },
    {
      name: "API key check in process",
      opsPerSecond: await opsPerSecond(() => daemon.authenticator.verifyKey(key)),
      baseline: "raw LevelDB get",
      baselineOpsPerSecond: rawGet,
    },
    {
      name: "key lookup for verification (LevelDB)",
      opsPerSecond: await opsPerSecond(() => daemon.readModel.keyRecord(created.body.apiKey.id)),
      baseline: "raw LevelDB get",
      baselineOpsPerSecond: rawGet,
    },
    {
      name: "PATCH key (append + read-your-writes)",
      opsPerSecond: await opsPerSecond(
        () => admin.patch("/v1/service-accounts/bench/api-keys/default", { description: `d${k++}` }),
        1500,
      ),
      baseline: "raw JetStream publish",
      baselineOpsPerSecond: rawPublish,
    },
  ]);
});
