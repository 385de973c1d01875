import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "max-audit-requests-per-principal": "1", "max-audit-requests": "4" });
  adminKey = await daemon.adminKey();
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const get = async (path: string, key: string) => {
  const answer = await fetch(`${daemon.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: answer.status, retryAfter: answer.headers.get("retry-after"), body: (await answer.json()) as any };
};

describe("audit requests running at once", () => {
  it("are capped per service account (429 with Retry-After) while verification goes on", async () => {
    const head = await daemon.store.head();
    const paths = [
      "/v1/service-accounts?asOf=",
      "/v1/audit/state?asOf=",
      "/v1/service-accounts/admin?asOf=",
      "/v1/audit/diff?from=0&to=",
    ];
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => get(`${paths[i % paths.length]}${head}`, adminKey)));
    const statuses = new Set(answers.map((answer) => answer.status));
    expect([...statuses].sort()).toEqual([200, 429]);
    const refused = answers.find((answer) => answer.status === 429)!;
    expect(refused.retryAfter).toBe("1");
    expect(refused.body.error.code).toBe("rate_limited");
    expect(refused.body.error.message).toContain("max-audit-requests-per-principal 1");
    // Reads of the present and verifications are not audit requests.
    const now = await Promise.all(Array.from({ length: 10 }, () => get("/v1/service-accounts/admin", adminKey)));
    expect(now.every((answer) => answer.status === 200)).toBe(true);
  });

  it("frees the slots: one at a time, each is answered", async () => {
    const head = await daemon.store.head();
    for (let i = 0; i < 5; i += 1) expect((await get(`/v1/audit/state?asOf=${head}`, adminKey)).status).toBe(200);
  });
});
