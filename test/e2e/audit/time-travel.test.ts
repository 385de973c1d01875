import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/** When the stream stored the message at `seq`, as NATS itself tells it. */
async function storedAt(seq: number): Promise<string> {
  const nc = await connect({ servers: nats.url });
  try {
    const message = await (await jetstreamManager(nc)).streams.getMessage("KEYLEDGER", { seq });
    return message!.time.toISOString();
  } finally {
    await nc.close();
  }
}

/** An instant strictly between what happened before and what happens after it. */
async function instant(): Promise<string> {
  await sleep(15);
  const at = new Date().toISOString();
  await sleep(15);
  return at;
}

describe("time travel (asOf)", () => {
  it("answers, at five points of a scripted history, what was true then", async () => {
    const beforeCreation = await instant();

    const created = await admin.post("/v1/service-accounts", { name: "time-traveller", roles: ["verifier"] });
    expect(created.status).toBe(201);
    const accountId: string = created.body.serviceAccount.id;
    const keyId: string = created.body.apiKey.id;
    const afterCreation = await instant();

    const rotated = await admin.post(`/v1/service-accounts/${accountId}/api-keys/default/rotate`, { retainSeconds: 2 });
    expect(rotated.status).toBe(200);
    const retainedUntil: string = rotated.body.retainedUntil;
    const whileRetained = await instant();

    // Past the retention's deadline (the scheduler may or may not have appended its expiry yet).
    await sleep(Date.parse(retainedUntil) - Date.now() + 100);
    const afterRetention = await instant();

    expect((await admin.patch(`/v1/service-accounts/${accountId}`, { active: false })).status).toBe(200);
    const afterDeactivation = await instant();

    expect((await admin.delete(`/v1/service-accounts/${accountId}`)).status).toBe(204);
    const afterDeletion = await instant();

    const at = (when: string) => admin.get(`/v1/service-accounts/${accountId}?asOf=${encodeURIComponent(when)}`);

    // 1. Before its creation the account did not exist.
    expect((await at(beforeCreation)).status).toBe(404);

    // 2. Created: active, one active key never rotated.
    const first = await at(afterCreation);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ name: "time-traveller", active: true, roles: ["verifier"], version: 2 });
    expect(first.body.apiKeys).toHaveLength(1);
    expect(first.body.apiKeys[0]).toMatchObject({
      id: keyId,
      active: true,
      status: "active",
      previousSecret: null,
      lastRotatedAt: null,
      retainedUntil: null,
    });
    expect(first.body.asOf.at).toBe(afterCreation);

    // 3. Rotated with retention: the previous secret was retained then.
    const second = await at(whileRetained);
    expect(second.body.apiKeys[0]).toMatchObject({ status: "active", previousSecret: "retained", retainedUntil });
    expect(second.body.apiKeys[0].lastRotatedAt).not.toBeNull();

    // 4. After the deadline: the retained secret had expired, whatever the scheduler had done.
    const third = await at(afterRetention);
    expect(third.body).toMatchObject({ active: true });
    expect(third.body.apiKeys[0]).toMatchObject({ status: "active", previousSecret: "expired", retainedUntil: null });

    // 5. Deactivated: the account and so its key were inactive.
    const fourth = await at(afterDeactivation);
    expect(fourth.body).toMatchObject({ active: false });
    expect(fourth.body.apiKeys[0]).toMatchObject({ active: true, status: "inactive" });

    // 6. Deleted: gone, as it is now.
    expect((await at(afterDeletion)).status).toBe(404);
    expect((await admin.get(`/v1/service-accounts/${accountId}`)).status).toBe(404);

    // The list as of each point agrees.
    const names = async (when: string) =>
      ((await admin.get(`/v1/service-accounts?asOf=${encodeURIComponent(when)}`)).body.items as Array<{ name: string }>).map(
        (account) => account.name,
      );
    expect(await names(beforeCreation)).toEqual(["admin"]);
    expect((await names(afterCreation)).sort()).toEqual(["admin", "time-traveller"]);
    expect((await names(afterDeletion)).sort()).toEqual(["admin"]);
    const inactive = await admin.get(`/v1/service-accounts?active=false&asOf=${encodeURIComponent(afterDeactivation)}`);
    expect(inactive.body.items.map((account: { id: string }) => account.id)).toEqual([accountId]);

    // A key's own route and the audit state agree with the account route.
    const key = await admin.get(`/v1/service-accounts/${accountId}/api-keys/${keyId}?asOf=${encodeURIComponent(whileRetained)}`);
    expect(key.body).toMatchObject({ id: keyId, previousSecret: "retained", retainedUntil });
    const state = await admin.get(`/v1/audit/state?asOf=${encodeURIComponent(afterDeactivation)}`);
    const audited = state.body.serviceAccounts.find((account: { id: string }) => account.id === accountId);
    expect(audited).toMatchObject({ active: false, apiKeys: [{ id: keyId, status: "inactive" }] });
  });

  it("takes a stream sequence as well as a time, and a sequence answers what the same instant does", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "by-sequence" });
    const accountId: string = created.body.serviceAccount.id;
    const events = (await admin.get(`/v1/events?account=${accountId}`)).body.items as Array<{ seq: number; type: string }>;
    const lastOfCreation = events.at(-1)!.seq;
    expect((await admin.patch(`/v1/service-accounts/${accountId}`, { description: "changed" })).status).toBe(200);

    const bySeq = await admin.get(`/v1/service-accounts/${accountId}?asOf=${lastOfCreation}`);
    expect(bySeq.status).toBe(200);
    expect(bySeq.body.description).toBe("");
    expect(bySeq.body.asOf.seq).toBe(lastOfCreation);
    // The instant of a sequence is the time the stream stored that message (read here from NATS itself).
    expect(bySeq.body.asOf.at).toBe(await storedAt(lastOfCreation));
    const ofAnEarlierMessage = (await admin.get(`/v1/service-accounts?asOf=${events[0]!.seq}`)).body.asOf;
    expect(ofAnEarlierMessage.at).toBe(await storedAt(events[0]!.seq));
    const byTime = await admin.get(`/v1/service-accounts/${accountId}?asOf=${encodeURIComponent(bySeq.body.asOf.at)}`);
    expect(byTime.body.description).toBe("");
    expect(byTime.body.asOf.seq).toBeGreaterThanOrEqual(lastOfCreation);
    expect(events.map((event) => event.type)).toEqual(["ServiceAccountCreated", "ApiKeyCreated"]);
    expect((await admin.get(`/v1/service-accounts/${accountId}?asOf=${events[0]!.seq}`)).body.apiKeys).toEqual([]);
    expect((await admin.get(`/v1/service-accounts/${accountId}?asOf=${events[0]!.seq - 1}`)).status).toBe(404);
  });

  it("answers the past from the read model's history, without reading the stream's events", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "own-subject" });
    expect(created.status).toBe(201);
    const reads = vi.spyOn(daemon.store, "messages");
    try {
      const now = encodeURIComponent(new Date().toISOString());
      expect((await admin.get(`/v1/service-accounts/own-subject?asOf=${now}`)).status).toBe(200);
      expect((await admin.get(`/v1/service-accounts/own-subject/api-keys?asOf=${now}`)).status).toBe(200);
      expect((await admin.get(`/v1/service-accounts?asOf=${now}`)).status).toBe(200);
      expect((await admin.get(`/v1/audit/state?asOf=${now}`)).status).toBe(200);
      expect((await admin.get(`/v1/audit/diff?from=1&to=${now}`)).status).toBe(200);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it("refuses a bad asOf with a 400 that names it", async () => {
    for (const bad of ["yesterday", "2026-13-45T00:00:00Z", "2026-01-01", "-1", "1.5", "99999999999999999999"]) {
      const answer = await admin.get(`/v1/service-accounts?asOf=${encodeURIComponent(bad)}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.body.error.code).toBe("invalid_request");
      expect(answer.body.error.message, bad).toMatch(/asOf/);
    }
    const future = await admin.get(
      `/v1/service-accounts?asOf=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
    );
    expect(future.status).toBe(400);
    const beyond = await admin.get(`/v1/service-accounts/admin?asOf=1000000`);
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.message).toMatch(/asOf 1000000 is after the stream's last sequence/);
  });

  it("is for auditors and admins only", async () => {
    const verifier = await admin.post("/v1/service-accounts", { name: "only-verifies", roles: ["verifier"] });
    const asVerifier = client(daemon.url, verifier.body.apiKey.key);
    expect((await asVerifier.get(`/v1/service-accounts?asOf=1`)).status).toBe(403);
    expect((await asVerifier.get(`/v1/audit/state?asOf=1`)).status).toBe(403);
    const auditor = await admin.post("/v1/service-accounts", { name: "reads-history", roles: ["auditor"] });
    const asAuditor = client(daemon.url, auditor.body.apiKey.key);
    expect((await asAuditor.get(`/v1/audit/state?asOf=1`)).status).toBe(200);
    expect((await client(daemon.url).get(`/v1/audit/state?asOf=1`)).status).toBe(401);
  });
});
