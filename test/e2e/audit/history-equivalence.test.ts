/**
 * The read model's history records against the stream itself: after a random (seeded) history of
 * every kind of change, the state the history answers at each sequence is the fold of the stream's
 * events up to it, for every account, and a name resolves to the account that bore it there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evolve, type AccountState } from "../../../src/domain/index.js";
import { decodeEnvelope, isEventSubject, toDomainEvent } from "../../../src/format/index.js";
import { PastAccounts } from "../../../src/projections/index.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "name-claim-grace-ms": "1000" });
  admin = client(daemon.url, await daemon.adminKey());
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function randomHistory(steps: number, seed: number): Promise<void> {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const names = ["svc-a", "svc-b", "svc-c", "svc-d"];
  for (let step = 0; step < steps; step += 1) {
    const name = pick(names);
    const exists = (await admin.get(`/v1/service-accounts/${name}`)).status === 200;
    if (!exists) {
      await admin.post("/v1/service-accounts", { name, roles: next() < 0.5 ? ["verifier"] : [] });
      continue;
    }
    const keys = (await admin.get(`/v1/service-accounts/${name}/api-keys`)).body.items as Array<{ name: string }>;
    const key = keys.length === 0 ? null : pick(keys).name;
    const action = pick([
      "describe",
      "roles",
      "active",
      "rename",
      "delete",
      "key",
      "rotate",
      "keyOff",
      "keyNote",
      "keyGone",
    ] as const);
    switch (action) {
      case "describe":
        await admin.patch(`/v1/service-accounts/${name}`, { description: `step ${step}` });
        break;
      case "roles":
        await admin.patch(`/v1/service-accounts/${name}`, { roles: next() < 0.5 ? ["auditor"] : [] });
        break;
      case "active":
        await admin.patch(`/v1/service-accounts/${name}`, { active: next() < 0.5 });
        break;
      case "rename": {
        const free: string[] = [];
        for (const candidate of [...names, "svc-e", "svc-f"])
          if ((await admin.get(`/v1/service-accounts/${candidate}`)).status === 404) free.push(candidate);
        if (free.length === 0) break;
        expect((await admin.patch(`/v1/service-accounts/${name}`, { name: pick(free) })).status).toBe(200);
        await sleep(1100); // the old name's claim holds for the grace period
        break;
      }
      case "delete":
        await admin.delete(`/v1/service-accounts/${name}`);
        break;
      case "key":
        await admin.post(`/v1/service-accounts/${name}/api-keys`, { name: `k${step}` });
        break;
      case "rotate":
        if (key !== null) await admin.post(`/v1/service-accounts/${name}/api-keys/${key}/rotate`, { retainSeconds: 60 });
        break;
      case "keyOff":
        if (key !== null) await admin.patch(`/v1/service-accounts/${name}/api-keys/${key}`, { active: false });
        break;
      case "keyNote":
        if (key !== null) await admin.patch(`/v1/service-accounts/${name}/api-keys/${key}`, { description: `step ${step}` });
        break;
      case "keyGone":
        if (key !== null) await admin.delete(`/v1/service-accounts/${name}/api-keys/${key}`);
        break;
    }
  }
}

describe("the history records", () => {
  it("answer at every sequence what the stream's events up to it fold to, and whose name was whose", async () => {
    await randomHistory(80, 20261205);
    const head = await daemon.store.head();
    await daemon.projector.waitFor(head, 10_000);

    const types = new Set<string>();
    const states = new Map<string, AccountState>();
    const holders = new Map<string, string>();
    let checked = 0;
    for (let seq = 1; seq <= head; seq += 1) {
      const message = await daemon.store.manager.streams.getMessage(daemon.config.stream, { seq });
      if (message !== null && isEventSubject(message.subject)) {
        const envelope = decodeEnvelope(message.data);
        types.add(envelope.type === "ServiceAccountUpdated" && "name" in envelope.data ? "renamed" : envelope.type);
        const before = states.get(envelope.accountId) ?? null;
        const after = evolve(before, toDomainEvent(envelope))!;
        states.set(after.id, after);
        if (before !== null && !before.deleted) holders.delete(before.name);
        if (!after.deleted) holders.set(after.name, after.id);
      }
      const past = new PastAccounts(daemon.readModel, seq);
      for (const [id, state] of states) expect(await past.account(id), `${id} at ${seq}`).toEqual(state);
      const live = [...states.values()].filter((state) => !state.deleted).sort((a, b) => (a.id < b.id ? -1 : 1));
      const listed = await past.page({ limit: 500 });
      expect(
        listed.items.map((fields) => fields.id),
        `the list at ${seq}`,
      ).toEqual(live.map((state) => state.id));
      expect(listed.items.map((fields) => fields.version)).toEqual(live.map((state) => state.version));
      for (const [name, id] of holders) expect(await past.idByName(name), `${name} at ${seq}`).toBe(id);
      for (const name of ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e", "svc-f"])
        if (!holders.has(name)) expect(await past.idByName(name), `${name} at ${seq}`).toBeNull();
      checked += 1;
    }
    expect(checked).toBe(head);
    // The random history holds every kind of change the history records have to follow.
    for (const type of [
      "renamed",
      "ServiceAccountDeleted",
      "ApiKeyRotated",
      "ApiKeyDeleted",
      "ApiKeyUpdated",
      "ServiceAccountUpdated",
    ])
      expect(types, type).toContain(type);
    expect(states.size).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
