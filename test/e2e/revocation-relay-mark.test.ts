import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/nats/index.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";

/**
 * A restarted daemon's revocation relay goes on from where it had looked, not from the last
 * revocation in the feed (which may lie a long history back): it keeps a mark, the sequence and the
 * SHA-256 of the last event message it handled, in `<data-dir>/revocation-relay.json`, and trusts it
 * only while the stream holds exactly that message there.
 */

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let dataDir: string;
let daemon: TestDaemon | undefined;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url, "relay-mark-test");
  jsm = await jetstreamManager(nc);
  dataDir = await tempDir("keyledger-relay-mark-");
});

afterAll(async () => {
  await daemon?.stop();
  await nc?.close();
  await nats?.stop();
});

const markPath = (): string => join(dataDir, "revocation-relay.json");
const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** The sequence of the last message on an account subject (an event), read from the stream. */
async function lastEventSeq(): Promise<number> {
  const info = await jsm.streams.info("KEYLEDGER", { subjects_filter: "kl.acct.*" });
  let last = 0;
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const message = await jsm.streams.getMessage("KEYLEDGER", { last_by_subj: subject });
    last = Math.max(last, message?.seq ?? 0);
  }
  return last;
}

/** What the daemon's relay says it looked at since it started (GET /metrics). */
async function examined(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^keyledger_revocation_relay_examined_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** The last event message the daemon's relay says it looked at (GET /metrics). */
async function relayPosition(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^keyledger_revocation_relay_position (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** The feed's copies: each one's source sequence. */
async function feedSources(): Promise<number[]> {
  const info = await jsm.streams.info("KEYLEDGER_REVOCATIONS");
  const sources: number[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const copy = await jsm.streams.getMessage("KEYLEDGER_REVOCATIONS", { seq });
    if (copy !== null) sources.push(Number(copy.header?.get("Kl-Source-Seq")));
  }
  return sources;
}

async function start(): Promise<ReturnType<typeof client>> {
  daemon = await startTestDaemon(nats.url, {}, { dataDir });
  return client(daemon.url, await daemon.adminKey());
}

describe("the revocation relay's mark", () => {
  it("is saved at stop as the last event message it handled, by sequence and digest", async () => {
    const admin = await start();
    await admin.post("/v1/service-accounts", { name: "early" });
    expect((await admin.patch("/v1/service-accounts/early/api-keys/default", { active: false })).status).toBe(200);
    await waitUntil(async () => (await feedSources()).length === 1, 10_000, 50);
    for (let i = 0; i < 20; i++) await admin.post("/v1/service-accounts", { name: `later-${i}` });
    const last = await lastEventSeq();
    await daemon!.stop();
    daemon = undefined;

    const mark = JSON.parse(await readFile(markPath(), "utf8")) as { seq: number; digest: string };
    expect(mark.seq).toBe(last);
    const message = await jsm.streams.getMessage("KEYLEDGER", { seq: last });
    expect(mark.digest).toBe(sha256(message!.data));
  });

  it("lets a restart go on after it, and what is revoked after that still reaches the feed once", async () => {
    const { seq } = JSON.parse(await readFile(markPath(), "utf8")) as { seq: number };
    const admin = await start();
    await waitUntil(async () => daemon!.logs.some((line) => line.includes("goes on from where it had looked")), 10_000, 50);
    const line = JSON.parse(daemon!.logs.find((entry) => entry.includes("goes on from where it had looked"))!);
    expect(line.after).toBe(seq);
    expect((await admin.patch("/v1/service-accounts/later-3/api-keys/default", { active: false })).status).toBe(200);
    await waitUntil(async () => (await feedSources()).length === 2, 10_000, 50);
    const sources = await feedSources();
    expect(new Set(sources).size).toBe(2);
    expect(sources[1]).toBeGreaterThan(seq);
    // It looked at the new event alone: the 20 accounts made after the last copy were not read again.
    expect(await examined(daemon!.url)).toBe(1);
    expect(await relayPosition(daemon!.url)).toBe(sources[1]);
    // An event after the last copy, so that the mark saved at stop lies past the feed's last copy.
    await admin.post("/v1/service-accounts", { name: "after-copy" });
    await daemon!.stop();
    daemon = undefined;
  });

  it("is not trusted when the stream holds other bytes at its sequence: the relay looks from the feed's last copy", async () => {
    const saved = JSON.parse(await readFile(markPath(), "utf8")) as { seq: number; digest: string };
    expect(saved.seq).toBe(await lastEventSeq());
    await writeFile(markPath(), JSON.stringify({ seq: saved.seq, digest: "0".repeat(64) }));
    const admin = await start();
    await waitUntil(async () => daemon!.logs.some((line) => line.includes("does not hold")), 10_000, 50);
    expect(daemon!.logs.some((line) => line.includes("goes on from where it had looked"))).toBe(false);
    // It reads again from the feed's last copy: at least the account made after it.
    await waitUntil(async () => (await examined(daemon!.url)) >= 1, 10_000, 50);
    // Still relays, and copies nothing twice.
    expect((await admin.patch("/v1/service-accounts/later-5/api-keys/default", { active: false })).status).toBe(200);
    await waitUntil(async () => (await feedSources()).length === 3, 10_000, 50);
    expect(new Set(await feedSources()).size).toBe(3);
  });
});
