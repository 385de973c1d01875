import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "trust-proxy": "1" });
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

describe("the access line behind a trusted proxy", () => {
  it("keeps only an address from X-Forwarded-For: a key written there never reaches the log", async () => {
    const key = await daemon.adminKey();
    const marker = `probe-${Date.now()}`;
    await fetch(`${daemon.url}/healthz?${marker}`, { headers: { "x-forwarded-for": `1.2.3.4, ${key}` } });
    await fetch(`${daemon.url}/healthz`, { headers: { "x-forwarded-for": "9.8.7.6", "x-request-id": marker } });
    await new Promise((done) => setTimeout(done, 200));
    const lines = daemon.logs
      .join("")
      .split("\n")
      .filter((line) => line.includes('"request completed"'));
    expect(lines.join("\n")).not.toContain(key);
    const parsed = lines.map((line) => JSON.parse(line) as { reqId: string; req: { remoteAddress?: string } });
    expect(parsed.some((line) => line.req.remoteAddress === "[not an address]")).toBe(true);
    expect(parsed.find((line) => line.reqId === marker)?.req.remoteAddress).toBe("9.8.7.6");
  });
});
