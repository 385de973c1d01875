import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, sleep } from "../../helpers/http.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

/**
 * The daemon's budget for audit work (src/api/audit-pacer.ts), seen from outside: while
 * verifications come in, auditors looping on as-of pages are made to wait (the metric counts it)
 * and every request is still answered; with nothing else to do, audit work never waits.
 */
let nats: TestNats;
let daemon: TestDaemon;
let admin: ReturnType<typeof client>;
let verifierKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
  for (let i = 0; i < 30; i++) {
    const created = await admin.post("/v1/service-accounts", { name: `budget-${i}`, roles: ["verifier"] });
    expect(created.status).toBe(201);
    verifierKey = created.body.apiKey.key as string;
  }
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

async function waitedSeconds(): Promise<number> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  const match = /^keyledger_audit_waited_seconds_total (\S+)$/m.exec(text);
  expect(match, "the metric is exposed").not.toBeNull();
  return Number(match![1]);
}

/** Auditors reading pages of the past, one after the other each, for `ms`; the statuses they got. */
async function auditorsLoop(auditors: number, ms: number): Promise<number[]> {
  const head = await daemon.store.head();
  const end = performance.now() + ms;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: auditors }, async () => {
      while (performance.now() < end) statuses.push((await admin.get(`/v1/service-accounts?asOf=${head}&limit=50`)).status);
    }),
  );
  return statuses;
}

describe("audit work and verification on one daemon", () => {
  it("never makes audit work wait when nothing else comes in", async () => {
    const before = await waitedSeconds();
    await sleep(400); // the scrape above is a request too: let it age out
    const statuses = await auditorsLoop(2, 1500);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(await waitedSeconds()).toBe(before);
  });

  it("makes audit work wait while verifications come in, and answers every request", async () => {
    const before = await waitedSeconds();
    let verifying = true;
    const verifications: number[] = [];
    const verifier = (async () => {
      while (verifying) {
        verifications.push((await admin.post("/v1/auth/verify", { key: verifierKey })).status);
        await sleep(10);
      }
    })();
    const statuses = await auditorsLoop(2, 1500);
    verifying = false;
    await verifier;
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(verifications.length).toBeGreaterThan(0);
    expect(verifications.every((status) => status === 200)).toBe(true);
    expect(await waitedSeconds()).toBeGreaterThan(before);
  });
});
