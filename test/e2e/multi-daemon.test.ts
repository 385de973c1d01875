import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, sleep, waitUntil } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { allEvents } from "../helpers/stream.js";

let nats: TestNats;
const running: TestDaemon[] = [];

async function daemon(settings: Record<string, string> = {}, dataDir?: string, natsUrl = nats.url): Promise<TestDaemon> {
  const started = await startTestDaemon(natsUrl, settings, { dataDir });
  running.push(started);
  return started;
}

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  for (const d of running) await d.stop();
  await nats?.stop();
});

describe("two daemons on one stream", () => {
  let a: TestDaemon;
  let b: TestDaemon;
  let adminKey: string;

  it("bootstraps the admin account exactly once when both start at the same time", async () => {
    const settings = { stream: "TWO" };
    [a, b] = await Promise.all([daemon(settings), daemon(settings)]);
    const files = await Promise.all([a, b].map(async (d) => (await readdir(d.dataDir)).includes("admin.key")));
    expect(files.filter(Boolean)).toHaveLength(1);
    adminKey = await (files[0] ? a : b).adminKey();
    const created = (await allEvents(a.store)).filter((event) => event.type === "ServiceAccountCreated");
    expect(created).toHaveLength(1);
    expect(created[0]!.actor).toEqual({ kind: "system", reason: "bootstrap" });
    // the admin key works on both daemons
    await waitUntil(async () => (await client(b.url, adminKey).get("/v1/auth/whoami")).status === 200);
    expect((await client(a.url, adminKey).get("/v1/auth/whoami")).status).toBe(200);
  });

  it("makes the daemon that lost the genesis pending: it serves reads and verifications but signs nothing until approved", async () => {
    // Each daemon made its own key; exactly one became the ledger's trust anchor.
    const anchor = a.trust.trust.anchor;
    expect([a.signer.keyId, b.signer.keyId]).toContain(anchor);
    const [trusted, pending] = anchor === a.signer.keyId ? [a, b] : [b, a];
    expect(pending.trust.trustedNow(pending.signer.keyId)).toBeNull();

    const onPending = client(pending.url, adminKey);
    expect((await onPending.get("/v1/service-accounts/admin")).status).toBe(200);
    const refused = await onPending.post("/v1/service-accounts", { name: "signed-by-pending" });
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain(`signing-keys approve ${pending.signer.keyId}`);
    expect((await onPending.post("/v1/auth/token")).status).toBe(503);
    expect((await client(trusted.url, adminKey).get("/v1/service-accounts/signed-by-pending")).status).toBe(404);
    expect((await client(pending.url).get("/readyz")).body.checks).toMatchObject({ signingKeyTrusted: false });

    // It announced itself: an admin sees it pending, and approves it by its id alone.
    const listed = await client(trusted.url, adminKey).get("/v1/signing-keys");
    expect(listed.body.anchor).toBe(anchor);
    expect(listed.body.items).toContainEqual(expect.objectContaining({ kid: pending.signer.keyId, status: "pending" }));
    const approved = await client(trusted.url, adminKey).post(`/v1/signing-keys/${pending.signer.keyId}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ kid: pending.signer.keyId, status: "trusted", enrolledBy: anchor });
    await waitUntil(() => pending.trust.trustedNow(pending.signer.keyId) !== null);
    expect((await onPending.post("/v1/service-accounts", { name: "signed-by-pending" })).status).toBe(201);
    await waitUntil(
      async () => (await client(trusted.url, adminKey).get("/v1/service-accounts/signed-by-pending")).status === 200,
    );
  });

  it("answers concurrent creates of one name with exactly one 201 and one 409", async () => {
    for (const name of ["race-1", "race-2", "race-3", "race.4", "race-5"]) {
      const answers = await Promise.all([
        client(a.url, adminKey).post("/v1/service-accounts", { name }),
        client(b.url, adminKey).post("/v1/service-accounts", { name }),
      ]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
      expect(answers.find((answer) => answer.status === 409)!.body.error.code).toBe("conflict");
    }
    const created = (await allEvents(a.store)).filter((event) => event.type === "ServiceAccountCreated");
    const names = created.map((event) => (event.data as { name: string }).name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("records exactly one ApiKeyRetentionExpired per rotation while both schedulers run", async () => {
    const api = client(a.url, adminKey);
    await api.post("/v1/service-accounts", { name: "rotating" });
    const rotations = 3;
    for (let i = 0; i < rotations; i++) {
      const rotated = await api.post("/v1/service-accounts/rotating/api-keys/default/rotate", { retainSeconds: 1 });
      expect(rotated.status).toBe(200);
      await sleep(1300); // past the deadline, so that the next rotation does not supersede it
    }
    await waitUntil(async () => {
      const expired = (await allEvents(a.store)).filter((event) => event.type === "ApiKeyRetentionExpired");
      return expired.length >= rotations;
    });
    await sleep(1000); // several more ticks of both schedulers
    const expired = (await allEvents(a.store)).filter((event) => event.type === "ApiKeyRetentionExpired");
    const generations = expired.map((event) => (event.data as { generation: number }).generation);
    expect(generations.sort()).toEqual([0, 1, 2]);
    expect(expired.every((event) => (event.data as { reason: string }).reason === "deadline")).toBe(true);
  });

  it("sees writes of the other daemon", async () => {
    await client(a.url, adminKey).post("/v1/service-accounts", { name: "seen-by-b" });
    await waitUntil(async () => (await client(b.url, adminKey).get("/v1/service-accounts/seen-by-b")).status === 200);
  });
});

describe("the scheduler after downtime", () => {
  it("closes a retention whose deadline passed while no daemon ran", async () => {
    // One NATS server holds one keyledger stream (its subjects are fixed), so this one gets its own.
    const own = await startTestNats();
    const dataDir = await tempDir();
    const settings = {};
    const first = await daemon(settings, dataDir, own.url);
    const api = client(first.url, await first.adminKey());
    await api.post("/v1/service-accounts", { name: "sleeper" });
    await api.post("/v1/service-accounts/sleeper/api-keys/default/rotate", { retainSeconds: 1 });
    await first.stop();
    await sleep(1500);
    const second = await daemon(settings, dataDir, own.url);
    await waitUntil(async () => (await allEvents(second.store)).some((event) => event.type === "ApiKeyRetentionExpired"));
    await sleep(600);
    expect((await allEvents(second.store)).filter((event) => event.type === "ApiKeyRetentionExpired")).toHaveLength(1);
    await second.stop();
    await own.stop();
  });
});
