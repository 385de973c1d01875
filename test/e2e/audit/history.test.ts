import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredEvent } from "../../../src/format/index.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";
import { allEvents } from "../../helpers/stream.js";

type Envelope = StoredEvent;

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let auditor: Client;
let verifier: Client;
/** Every plaintext key the API handed out. */
const secrets: string[] = [];
/** The request ids of the writes, by what they did. */
const requestIds: Record<string, string> = {};
const ids: Record<string, string> = {};

async function expectStatus<T = any>(answer: Promise<{ status: number; body: T; headers: Headers }>, status: number) {
  const got = await answer;
  expect(got.status, JSON.stringify(got.body)).toBe(status);
  return got;
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "auth-failures-per-minute": "10000" });
  const adminKey = await daemon.adminKey();
  secrets.push(adminKey);
  admin = client(daemon.url, adminKey);

  const create = async (name: string, roles: string[]) => {
    const created = await expectStatus(admin.post("/v1/service-accounts", { name, roles }), 201);
    ids[name] = created.body.serviceAccount.id;
    secrets.push(created.body.apiKey.key);
    requestIds[`create ${name}`] = created.headers.get("x-request-id")!;
    return created.body.apiKey.key as string;
  };
  auditor = client(daemon.url, await create("audit-team", ["auditor"]));
  verifier = client(daemon.url, await create("gateway", ["verifier"]));
  await create("svc.one", ["verifier"]);
  await create("svc-two", []);
  const key = await expectStatus(admin.post("/v1/service-accounts/svc.one/api-keys", { name: "deploy" }), 201);
  secrets.push(key.body.key);
  for (const account of ["svc.one", "svc-two", "svc.one"]) {
    const rotated = await expectStatus(
      admin.post(`/v1/service-accounts/${account}/api-keys/default/rotate`, { retainSeconds: 600 }),
      200,
    );
    secrets.push(rotated.body.key);
  }
  const deactivated = await expectStatus(admin.patch("/v1/service-accounts/svc-two", { active: false }), 200);
  requestIds["deactivate svc-two"] = deactivated.headers.get("x-request-id")!;
  await expectStatus(admin.patch("/v1/service-accounts/svc-two", { active: true }), 200);
  await expectStatus(admin.delete("/v1/service-accounts/svc.one/api-keys/deploy"), 204);
  await create("short-lived", []);
  await expectStatus(admin.delete("/v1/service-accounts/short-lived"), 204);
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/** Every event through `GET /v1/events`, page by page (`limit`), with the pages' sizes. */
async function pageThrough(who: Client, query: string, limit: number): Promise<{ items: Envelope[]; pages: number[] }> {
  const items: Envelope[] = [];
  const pages: number[] = [];
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const answer = await expectStatus(who.get(`/v1/events?after=${after}&limit=${limit}${query}`), 200);
    items.push(...answer.body.items);
    pages.push(answer.body.items.length);
    expect(answer.body.items.length).toBeLessThanOrEqual(limit);
    if (answer.body.next === null) return { items, pages };
    expect(answer.body.next).toBeGreaterThan(after);
    after = answer.body.next;
  }
  throw new Error("paging does not end");
}

describe("GET /v1/events", () => {
  it("answers every event of the stream, in stream order, as the stream holds it", async () => {
    const stream = await allEvents(daemon.store);
    expect(stream.length).toBeGreaterThanOrEqual(20);
    const { body } = await expectStatus(admin.get("/v1/events?limit=1000"), 200);
    expect(body.next).toBeNull();
    expect(body.items).toEqual(stream);
    const seqs = body.items.map((event: Envelope) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("carries the whole envelope: actor, request id, chain and signature", async () => {
    const { body } = await expectStatus(admin.get("/v1/events?limit=1000"), 200);
    const items: Envelope[] = body.items;
    const lastOfAccount = new Map<string, Envelope>();
    for (const event of items) {
      expect(event.id).toMatch(/^evt_/);
      expect(event.schemaVersion).toBe(1);
      expect(event.accountId).toMatch(/^sa_/);
      expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
      expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(Buffer.from(event.signature, "base64url")).toHaveLength(64);
      expect(event.signingKeyId).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(event).toHaveProperty("prevHash");
      expect(event).toHaveProperty("requestId");
      const previous = lastOfAccount.get(event.accountId);
      expect(event.prevHash).toBe(previous?.hash ?? null);
      expect(event.accountVersion).toBe((previous?.accountVersion ?? 0) + 1);
      lastOfAccount.set(event.accountId, event);
    }
    // The bootstrap is the system's; every later change names the admin's key and its request.
    const adminId = items[0]!.accountId;
    expect(items[0]!.actor).toEqual({ kind: "system", reason: "bootstrap" });
    const created = items.find((event) => event.type === "ServiceAccountCreated" && event.accountId === ids.gateway)!;
    expect(created.actor).toMatchObject({
      kind: "service_account",
      serviceAccountId: adminId,
      apiKeyId: expect.stringMatching(/^key_/),
    });
    expect(created.requestId).toBe(requestIds["create gateway"]);
    const deactivated = items.find((event) => event.type === "ServiceAccountDeactivated")!;
    expect(deactivated.accountId).toBe(ids["svc-two"]);
    expect(deactivated.requestId).toBe(requestIds["deactivate svc-two"]);
  });

  it("never holds a secret: no plaintext key the API handed out appears in any event", async () => {
    const text = JSON.stringify((await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body);
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      // nor its random part alone
      const random = /^kl_[0-9A-Z]{26}_([A-Za-z0-9_-]{43})$/.exec(secret)?.[1];
      expect(random, "a key of the documented format").toBeDefined();
      expect(text).not.toContain(random);
    }
    expect(text).toContain("secretHash");
  });

  it.each([1, 3, 7])("pages with after and limit=%i reach every event exactly once", async (limit) => {
    const all = (await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body.items as Envelope[];
    const { items, pages } = await pageThrough(admin, "", limit);
    expect(items.map((event) => event.seq)).toEqual(all.map((event) => event.seq));
    expect(pages.slice(0, -1).every((size) => size === limit)).toBe(true);
  });

  it("after a sequence answers only what follows it; at the end, nothing and next null", async () => {
    const all = (await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body.items as Envelope[];
    const middle = all[5]!.seq;
    const { body } = await expectStatus(admin.get(`/v1/events?after=${middle}&limit=1000`), 200);
    expect(body.items.map((event: Envelope) => event.seq)).toEqual(all.filter((e) => e.seq > middle).map((e) => e.seq));
    const end = await expectStatus(admin.get(`/v1/events?after=${all.at(-1)!.seq}`), 200);
    expect(end.body).toEqual({ items: [], next: null });
    const beyond = await expectStatus(admin.get(`/v1/events?after=${all.at(-1)!.seq + 1000}`), 200);
    expect(beyond.body).toEqual({ items: [], next: null });
  });

  it("filters by account, given its id or its name, and pages within it", async () => {
    const all = (await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body.items as Envelope[];
    const expected = all.filter((event) => event.accountId === ids["svc.one"]);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    const byId = await expectStatus(admin.get(`/v1/events?account=${ids["svc.one"]}`), 200);
    expect(byId.body).toEqual({ items: expected, next: null });
    const byName = await expectStatus(admin.get("/v1/events?account=svc.one"), 200);
    expect(byName.body).toEqual({ items: expected, next: null });
    const paged = await pageThrough(admin, "&account=svc.one", 2);
    expect(paged.items).toEqual(expected);
  });

  it("keeps the history of a deleted account readable by its id", async () => {
    const { body } = await expectStatus(admin.get(`/v1/events?account=${ids["short-lived"]}`), 200);
    expect(body.items.map((event: Envelope) => event.type)).toEqual([
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ServiceAccountDeleted",
    ]);
  });

  it("filters by type, alone and with an account", async () => {
    const all = (await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body.items as Envelope[];
    const rotations = all.filter((event) => event.type === "ApiKeyRotated");
    expect(rotations).toHaveLength(3);
    expect((await expectStatus(admin.get("/v1/events?type=ApiKeyRotated"), 200)).body).toEqual({ items: rotations, next: null });
    const paged = await pageThrough(admin, "&type=ApiKeyRotated", 1);
    expect(paged.items).toEqual(rotations);
    const ofOne = await expectStatus(admin.get("/v1/events?type=ApiKeyRotated&account=svc.one"), 200);
    expect(ofOne.body.items).toEqual(rotations.filter((event) => event.accountId === ids["svc.one"]));
    expect(ofOne.body.items).toHaveLength(2);
    // A rotation that ended a retained secret early also recorded why.
    const superseded = all.filter((event) => event.type === "ApiKeyRetentionExpired");
    expect(superseded.map((event) => event.accountId)).toEqual([ids["svc.one"]]);
  });

  it("answers 404 for an account name nobody ever held", async () => {
    const { body } = await expectStatus(admin.get("/v1/events?account=nobody"), 404);
    expect(body.error).toMatchObject({ code: "not_found", message: expect.any(String), requestId: expect.any(String) });
  });

  it("takes the name of a deleted account as the account that bore it last", async () => {
    const { body } = await expectStatus(admin.get("/v1/events?account=short-lived"), 200);
    expect(body.items.map((event: { type: string }) => event.type)).toEqual([
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ServiceAccountDeleted",
    ]);
    expect(new Set(body.items.map((event: { accountId: string }) => event.accountId)).size).toBe(1);
  });

  it("answers 404 for a well-formed account id that never existed", async () => {
    // Not an empty 200: a typo in an id must not read as "this account has no history".
    const { body } = await expectStatus(admin.get("/v1/events?account=sa_01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404);
    expect(body.error).toMatchObject({ code: "not_found", requestId: expect.any(String) });
  });

  it.each([
    ["after=-1", "after"],
    ["after=abc", "after"],
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=2.5", "limit"],
    ["type=ApiKeyStolen", "type"],
    ["account=", "account"],
    [`account=${"a".repeat(65)}`, "account"],
    ["colour=red", "colour"],
  ])("answers 400 naming the field for %s", async (query, field) => {
    const { body } = await expectStatus(admin.get(`/v1/events?${query}`), 400);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toContain(field);
    expect(body.error.requestId).toEqual(expect.any(String));
  });

  it("lets an auditor read, refuses a verifier (403) and anyone without a valid credential (401)", async () => {
    const all = (await expectStatus(admin.get("/v1/events?limit=1000"), 200)).body;
    expect((await expectStatus(auditor.get("/v1/events?limit=1000"), 200)).body).toEqual(all);
    const forbidden = await expectStatus(verifier.get("/v1/events"), 403);
    expect(forbidden.body.error).toMatchObject({ code: "forbidden", requestId: expect.any(String) });
    for (const who of [client(daemon.url), client(daemon.url, "kl_not_a_key")]) {
      const denied = await expectStatus(who.get("/v1/events"), 401);
      expect(denied.body.error).toMatchObject({ code: "unauthenticated", requestId: expect.any(String) });
    }
    // The credential is checked before the query: no hint about the rules without one.
    expect((await expectStatus(client(daemon.url).get("/v1/events?limit=0"), 401)).body.error.code).toBe("unauthenticated");
  });
});
