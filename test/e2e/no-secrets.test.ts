import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { connectNats } from "../../src/nats/index.js";
import { USAGE_BUCKET } from "../../src/auth/index.js";
import { SIGNING_KEYS_BUCKET } from "../../src/events/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { allMessages, dumpLevel } from "../helpers/stream.js";

let nats: TestNats;
let daemon: TestDaemon;
const secrets: string[] = [];

/** A plaintext key and its secret part (everything after the key id), each of which must never be stored. */
function remember(key: string): string {
  secrets.push(key, key.slice(-43));
  return key;
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "log-level": "trace" });
  const adminKey = remember(await daemon.adminKey());
  secrets.push((await readFile(join(daemon.dataDir, "signing.key"), "utf8")).trim());
  const admin = client(daemon.url, adminKey);

  const created = await admin.post("/v1/service-accounts", { name: "workload", roles: ["verifier"] });
  const workloadKey = remember(created.body.apiKey.key);
  remember((await admin.post("/v1/service-accounts/workload/api-keys", { name: "second" })).body.key);
  remember((await admin.post("/v1/service-accounts/workload/api-keys/second/rotate", { retainSeconds: 60 })).body.key);
  remember((await admin.post("/v1/service-accounts/workload/api-keys/default/rotate", {})).body.key);
  const token = (await client(daemon.url, adminKey).post("/v1/auth/token")).body.accessToken as string;
  secrets.push(token);
  // Every place a careless client could put a key: the verify body, a wrong header, the query string.
  await admin.post("/v1/auth/verify", { key: workloadKey });
  await client(daemon.url, workloadKey).get("/v1/auth/whoami");
  await client(daemon.url, `${workloadKey}x`).get("/v1/auth/whoami");
  await admin.get(`/v1/service-accounts?name=${encodeURIComponent(workloadKey.slice(0, 40))}&cursor=${workloadKey}`);
  await client(daemon.url, token).get("/v1/auth/whoami");
  await admin.patch("/v1/service-accounts/workload", { active: false });
  await admin.delete("/v1/service-accounts/workload");
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

function leaks(haystack: string): string[] {
  return secrets.filter((secret) => haystack.includes(secret));
}

describe("no plaintext secret is stored or logged", () => {
  it("collected the secrets of the workflow", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    expect(secrets.every((secret) => secret.length >= 43)).toBe(true);
  });

  it("finds none in the stream's messages", async () => {
    const messages = await allMessages(daemon.store);
    expect(messages.length).toBeGreaterThan(8);
    expect(leaks(JSON.stringify(messages))).toEqual([]);
    // but it does find the hashes, so the scan reads the right bytes
    expect(JSON.stringify(messages)).toContain("sha256:");
  });

  it("finds none in LevelDB's keys and values", async () => {
    const entries = await dumpLevel(daemon.readModel.db);
    expect(entries.length).toBeGreaterThan(5);
    expect(leaks(JSON.stringify(entries))).toEqual([]);
  });

  it("finds none in the KV buckets", async () => {
    const nc = await connectNats(nats.url, "scan");
    const kvm = new Kvm(nc);
    const values: string[] = [];
    for (const bucket of [USAGE_BUCKET, SIGNING_KEYS_BUCKET]) {
      const kv = await kvm.open(bucket);
      for await (const key of await kv.keys()) values.push(key, (await kv.get(key))?.string() ?? "");
    }
    await nc.close();
    expect(values.length).toBeGreaterThan(0);
    expect(leaks(values.join("\n"))).toEqual([]);
  });

  it("finds none in the log output of the whole workflow", () => {
    const logs = daemon.logs.join("");
    expect(logs).toContain("/v1/auth/verify");
    expect(logs).toContain("admin.key");
    expect(leaks(logs)).toEqual([]);
  });
});
