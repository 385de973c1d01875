import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { holdStreamReads } from "../../helpers/hold-reads.js";
import { client, waitUntil } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const audit = (signal?: AbortSignal) =>
  fetch(`${daemon.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${adminKey}` }, signal });

describe("an audit under way", () => {
  it("stops reading when its caller goes away, and frees its place", async () => {
    const held = holdStreamReads(daemon.store);
    try {
      const caller = new AbortController();
      const answer = audit(caller.signal).catch((error: unknown) => error);
      await waitUntil(() => held.reads.length === 1);
      caller.abort();
      expect(await answer).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      held.release();
      await waitUntil(() => held.reads[0]!.finished);
      await waitUntil(() => daemon.logs.join("").includes("audit stopped: its caller went away"));
    } finally {
      held.restore();
    }
    // Both places are free again: two audits at once are answered.
    const [first, second] = await Promise.all([audit(), audit()]);
    expect([first.status, second.status]).toEqual([200, 200]);
  });

  it("does not hold up the daemon's shutdown: it ends with a 503 that says why", async () => {
    const held = holdStreamReads(daemon.store);
    const answer = audit();
    await waitUntil(() => held.reads.length === 1);
    const stopped = daemon.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    held.release();
    const response = await answer;
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("daemon is stopping");
    await stopped;
    held.restore();
    expect(
      (
        await client(daemon.url)
          .get("/healthz")
          .catch(() => ({ status: 0 }))
      ).status,
    ).toBe(0);
  });
});
