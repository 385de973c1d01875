import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newAccountId } from "../../src/application/ids.js";
import { claimHeldByStream } from "../../src/application/name-claims.js";
import { ConflictError } from "../../src/domain/index.js";
import type { JetStreamEventStore } from "../../src/events/event-store.js";
import { NameRegistry, type ClaimHeld, type NameClaim } from "../../src/events/name-registry.js";
import { nameSubject } from "../../src/format/subjects.js";
import { connectNats } from "../../src/nats/index.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { command, createAccount, openStore, runOnStream } from "./support.js";

const STREAM = "T_name_registry";
const GRACE_MS = 60_000;

let nats: TestNats;
let ncA: NatsConnection;
let ncB: NatsConnection;
/** Two daemons: each with its own connection, signing key and store on the one stream. */
let storeA: JetStreamEventStore;
let storeB: JetStreamEventStore;
let registryA: NameRegistry;
let registryB: NameRegistry;
// A claim's age comes from the stream's own timestamp, so the test clock starts at the real time.
let now = new Date();
const clock = () => now;
let heldA: ClaimHeld;
let heldB: ClaimHeld;

beforeAll(async () => {
  nats = await startTestNats();
  ncA = await connectNats(nats.url, "test");
  ncB = await connectNats(nats.url, "test");
  storeA = await openStore(ncA, STREAM);
  storeB = await openStore(ncB, STREAM);
  registryA = new NameRegistry(storeA);
  registryB = new NameRegistry(storeB);
  heldA = claimHeldByStream(storeA, clock, GRACE_MS);
  heldB = claimHeldByStream(storeB, clock, GRACE_MS);
});

afterAll(async () => {
  await ncA?.close();
  await ncB?.close();
  await nats?.stop();
});

const iso = () => clock().toISOString();

async function claimsOn(name: string): Promise<number> {
  const info = await storeA.manager.streams.info(STREAM, { subjects_filter: nameSubject(name) });
  return info.state.subjects?.[nameSubject(name)] ?? 0;
}

/** Claims one name for several accounts at once; answers who won and what the others got. */
async function race(name: string, contenders: Array<{ registry: NameRegistry; held: ClaimHeld; accountId: string }>) {
  const results = await Promise.allSettled(
    contenders.map(({ registry, held, accountId }) => registry.claim(name, accountId, iso(), held)),
  );
  const winners = contenders.filter((_, i) => results[i]!.status === "fulfilled").map(({ accountId }) => accountId);
  const errors = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
  return { winners, errors };
}

describe("claiming an account name", () => {
  it("lets exactly one of two claims at once win, in one daemon", async () => {
    for (let round = 0; round < 10; round++) {
      const name = `same-process-${round}`;
      const [one, two] = [newAccountId(), newAccountId()];
      const { winners, errors } = await race(name, [
        { registry: registryA, held: heldA, accountId: one },
        { registry: registryA, held: heldA, accountId: two },
      ]);
      expect(winners).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ConflictError);
      expect((await registryA.current(name))?.claim.accountId).toBe(winners[0]);
      expect(await claimsOn(name)).toBe(1);
    }
  });

  it("lets exactly one of several daemons win, each on its own connection", async () => {
    for (let round = 0; round < 10; round++) {
      const name = `two-daemons-${round}`;
      const contenders = [
        { registry: registryA, held: heldA, accountId: newAccountId() },
        { registry: registryB, held: heldB, accountId: newAccountId() },
        { registry: registryA, held: heldA, accountId: newAccountId() },
        { registry: registryB, held: heldB, accountId: newAccountId() },
      ];
      const { winners, errors } = await race(name, contenders);
      expect(winners).toHaveLength(1);
      expect(errors).toHaveLength(3);
      for (const error of errors) expect(error).toBeInstanceOf(ConflictError);
      // Both daemons see the same owner.
      expect((await registryA.current(name))?.claim.accountId).toBe(winners[0]);
      expect((await registryB.current(name))?.claim.accountId).toBe(winners[0]);
      expect(await claimsOn(name)).toBe(1);
    }
  });

  it("lets the stream decide when both daemons saw the name free (expected sequence 0)", async () => {
    // Both daemons read "no claim yet" before either appends: only the expected sequence can keep them apart.
    let arrived = 0;
    let bothArrived!: () => void;
    const barrier = new Promise<void>((resolve) => (bothArrived = resolve));
    const spies = [registryA, registryB].map((registry) => {
      const original = registry.current.bind(registry);
      return vi.spyOn(registry, "current").mockImplementationOnce(async (name) => {
        const seen = await original(name);
        if (++arrived === 2) bothArrived();
        await barrier;
        return seen;
      });
    });
    try {
      const { winners, errors } = await race("seen-free", [
        { registry: registryA, held: heldA, accountId: newAccountId() },
        { registry: registryB, held: heldB, accountId: newAccountId() },
      ]);
      expect(await Promise.all(spies.map((spy) => spy.mock.results[0]!.value))).toEqual([null, null]);
      expect(winners).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ConflictError);
      expect((await registryA.current("seen-free"))?.claim.accountId).toBe(winners[0]);
      expect(await claimsOn("seen-free")).toBe(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("accepts a second claim by the same account without appending another", async () => {
    const accountId = newAccountId();
    await registryA.claim("idempotent", accountId, iso(), heldA);
    const first = await registryA.current("idempotent");
    const held = vi.fn<ClaimHeld>(async () => true);
    await registryB.claim("idempotent", accountId, iso(), held);
    await registryA.claim("idempotent", accountId, iso(), held);
    expect(held).not.toHaveBeenCalled();
    expect(await registryA.current("idempotent")).toEqual(first);
    expect(await claimsOn("idempotent")).toBe(1);
    await expect(registryB.claim("idempotent", newAccountId(), iso(), heldB)).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses a name held by a live account, and hands it over once that account is deleted", async () => {
    const owner = newAccountId();
    await registryA.claim("legacy", owner, iso(), heldA);
    await runOnStream(storeA, createAccount(owner, "legacy"));

    const newcomer = newAccountId();
    const held = vi.fn<ClaimHeld>((claim) => heldB(claim));
    await expect(registryB.claim("legacy", newcomer, iso(), held)).rejects.toBeInstanceOf(ConflictError);
    expect(held).toHaveBeenCalledWith(expect.objectContaining<Partial<NameClaim>>({ name: "legacy", accountId: owner }));

    await runOnStream(storeA, command("DeleteServiceAccount", owner, {}));
    await registryB.claim("legacy", newcomer, iso(), held);
    const current = (await registryA.current("legacy"))?.claim;
    expect(current).toMatchObject({ name: "legacy", accountId: newcomer });
    expect(Math.abs(Date.parse(current!.claimedAt) - Date.now())).toBeLessThan(60_000);
    expect(await claimsOn("legacy")).toBe(2);
    // And the former owner does not get it back.
    await expect(registryA.claim("legacy", owner, iso(), heldA)).rejects.toBeInstanceOf(ConflictError);
  });

  it("hands a name over to exactly one of two daemons taking it over at once", async () => {
    const dead = newAccountId();
    await registryA.claim("contested", dead, iso(), heldA);
    await runOnStream(storeA, createAccount(dead, "contested"));
    await runOnStream(storeA, command("DeleteServiceAccount", dead, {}));

    const { winners, errors } = await race("contested", [
      { registry: registryA, held: heldA, accountId: newAccountId() },
      { registry: registryB, held: heldB, accountId: newAccountId() },
    ]);
    expect(winners).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConflictError);
    expect((await registryB.current("contested"))?.claim.accountId).toBe(winners[0]);
    expect(await claimsOn("contested")).toBe(2);
  });

  it("hands over the old name of a renamed account, and a claim never followed by its account after the grace period", async () => {
    const renamed = newAccountId();
    await registryA.claim("old-name", renamed, iso(), heldA);
    await runOnStream(storeA, createAccount(renamed, "old-name"));
    await registryA.claim("new-name", renamed, iso(), heldA);
    await runOnStream(storeA, command("UpdateServiceAccount", renamed, { name: "new-name" }));

    const abandoned = newAccountId();
    await registryA.claim("abandoned", abandoned, iso(), heldA);
    // Within the grace period the creation may still be on its way.
    await expect(registryB.claim("abandoned", newAccountId(), iso(), heldB)).rejects.toBeInstanceOf(ConflictError);

    now = new Date(Date.now() + GRACE_MS + 1000);
    const taker = newAccountId();
    await registryB.claim("old-name", taker, iso(), heldB);
    await registryB.claim("abandoned", taker, iso(), heldB);
    expect((await registryA.current("old-name"))?.claim.accountId).toBe(taker);
    expect((await registryA.current("abandoned"))?.claim.accountId).toBe(taker);
    // The renamed account keeps its new name.
    await expect(registryB.claim("new-name", taker, iso(), heldB)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe("name subjects", () => {
  it("never contain the raw name, even with dots, dashes or wildcard characters", async () => {
    const names = ["a.b", "a-b", "a_b", "a.b-c", "a.b.c", "ab", "x.*", "x.>", "x y", "ünïcode", "a".repeat(64)];
    const subjects = names.map(nameSubject);
    for (const [i, subject] of subjects.entries()) {
      expect(subject).toMatch(/^kl\.name\.[0-9a-f]+$/);
      expect(subject.slice("kl.name.".length)).not.toContain(names[i]);
      expect(Buffer.from(subject.slice("kl.name.".length), "hex").toString("utf8")).toBe(names[i]);
    }
    expect(new Set(subjects).size).toBe(names.length);

    // Each name is a claim of its own, on exactly its own subject.
    const owners = names.map(() => newAccountId());
    await Promise.all(names.map((name, i) => registryA.claim(name, owners[i]!, iso(), heldA)));
    for (const [i, name] of names.entries()) {
      expect((await registryB.current(name))?.claim).toMatchObject({ name, accountId: owners[i] });
      const message = await storeA.manager.streams.getMessage(STREAM, { last_by_subj: nameSubject(name) });
      expect(message?.subject).toBe(subjects[i]);
      expect(await claimsOn(name)).toBe(1);
    }
  });
});
