/**
 * Issue 5, item 1: a daemon killed with SIGKILL in the middle of a write load loses no acknowledged
 * write and applies none twice, and after a restart its read model is the one a rebuild from the
 * stream makes.
 *
 * The daemon runs as a real `keyledger serve` process against a nats-server of the test's own (so
 * that the broker outlives the daemon). KEYLEDGER_RELIABILITY_FULL=1 runs a longer load with more kills.
 */
import { createHash } from "node:crypto";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../helpers/cli.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon-process.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";
import {
  checkDaemonState,
  checkStream,
  readStreamEvents,
  startWriteLoad,
  streamLastSequence,
  type StreamEvent,
} from "../helpers/write-load.js";

const FULL = process.env.KEYLEDGER_RELIABILITY_FULL === "1";
const COMMANDS = FULL ? 10_000 : 2_500;
const KILLS = FULL ? 4 : 1;
const LANES = 8;

let nats: TestNats;

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  await nats?.stop();
});

function serve(port: number, dataDir: string): DaemonProcess {
  return spawnDaemon(
    process.execPath,
    [CLI, "serve", "--port", String(port), "--data-dir", dataDir, "--nats-url", nats.url, "--log-level", "warn"],
    port,
    { env: { PATH: process.env.PATH, HOME: dataDir } },
  );
}

/** Every entry of a stopped daemon's LevelDB read model, raw, in key order. */
async function readModelEntries(dataDir: string): Promise<Array<[string, string]>> {
  const db = new Level<string, string>(join(dataDir, "readmodel"), { valueEncoding: "utf8" });
  await db.open();
  try {
    const entries: Array<[string, string]> = [];
    for await (const entry of db.iterator()) entries.push(entry);
    return entries;
  } finally {
    await db.close();
  }
}

/** SHA-256 over every key and value, in key order: nothing is left out. */
function digestOf(entries: ReadonlyArray<readonly [string, string]>): string {
  const hash = createHash("sha256");
  for (const [key, value] of entries) hash.update(`${key}\u0000${value}\u0000`);
  return hash.digest("hex");
}

/** What differs between two read models, for a readable failure (at most 10 keys). */
function differences(a: ReadonlyArray<readonly [string, string]>, b: ReadonlyArray<readonly [string, string]>): string[] {
  const left = new Map(a);
  const right = new Map(b);
  const keys = new Set([...left.keys(), ...right.keys()]);
  return [...keys]
    .filter((key) => left.get(key) !== right.get(key))
    .slice(0, 10)
    .map((key) => `${key}: live ${left.get(key) ?? "(absent)"} / rebuilt ${right.get(key) ?? "(absent)"}`);
}

describe("a daemon killed with SIGKILL during a write load", () => {
  it(
    `keeps every acknowledged write, applies none twice, and restarts to the read model a rebuild makes (${COMMANDS} commands, ${KILLS} kill(s))`,
    async () => {
      const started = Date.now();
      const port = await freePort();
      const dataDir = await tempDir("keyledger-crash-");
      let daemon = serve(port, dataDir);
      await daemon.ready;
      const url = `http://127.0.0.1:${port}`;
      const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();

      const load = startWriteLoad({ urls: [url], adminKey, lanes: LANES, maxCommands: COMMANDS, seed: 7 });
      const kills: Array<{ afterAnswers: number; inFlight: number; downMs: number }> = [];
      for (let kill = 1; kill <= KILLS; kill++) {
        // Kills spread over the load, the last one well before its end so that writes go on after it.
        const afterAnswers = Math.floor((COMMANDS * kill) / (KILLS + 1.5));
        await load.whenAnswered(afterAnswers);
        const inFlight = load.records.filter((record) => !record.settled).length;
        process.kill(daemon.child.pid!, "SIGKILL");
        const down = Date.now();
        await daemon.exited;
        daemon = serve(port, dataDir);
        await daemon.ready;
        kills.push({ afterAnswers, inFlight, downMs: Date.now() - down });
      }
      const summary = await load.done;
      const loadEnded = Date.now();

      // The load really was a load, with answers on both sides of every kill.
      expect(summary.sent - summary.unreachable).toBeGreaterThanOrEqual(COMMANDS);
      expect(summary.acknowledged).toBeGreaterThan(COMMANDS * 0.9);
      const acknowledgedAfterLastKill = load.records.filter(
        (record) => record.outcome === "acknowledged" && record.index > load.records.length - COMMANDS / 10,
      ).length;
      expect(acknowledgedAfterLastKill).toBeGreaterThan(0);
      // The lanes keep an exact model of their accounts: a rejection means the restarted daemon's
      // read model disagrees with what it acknowledged (a lost key, a wrong state). The only
      // failures are the requests in flight at a kill.
      expect(
        load.records.filter((record) => record.outcome === "rejected").map((r) => `${r.kind} ${r.status} ${r.message}`),
      ).toEqual([]);
      expect(summary.unknown).toBeLessThanOrEqual(LANES * KILLS);

      // Every acknowledged write is in the stream exactly as decided; nothing is there twice.
      const events: StreamEvent[] = await readStreamEvents(nats.url);
      const stream = checkStream(load.records, events, load.requestIdPrefix);
      expect(stream.problems).toEqual([]);
      expect(stream.acknowledgedFound).toBe(summary.acknowledged);

      // ... and in the restarted daemon's read model, as its clients see it.
      expect(await checkDaemonState(url, adminKey, load, events)).toEqual([]);

      // Stopped cleanly, its read model holds every account at exactly its number of events, skipped nothing,
      // and stands at the stream's last message (a signed checkpoint the daemon appended after the
      // load, every 10 seconds while events arrive, may come after the last event).
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
      const live = await readModelEntries(dataDir);
      const liveMap = new Map(live);
      const perAccount = new Map<string, number>();
      for (const event of events) perAccount.set(event.accountId, (perAccount.get(event.accountId) ?? 0) + 1);
      const wrongVersions: string[] = [];
      for (const [accountId, count] of perAccount) {
        const record = liveMap.get(`acct!${accountId}`);
        const version =
          record === undefined ? undefined : (JSON.parse(record) as { account: { version: number } }).account.version;
        if (version !== count) wrongVersions.push(`${accountId}: read model version ${version}, ${count} events in the stream`);
      }
      expect(wrongVersions.slice(0, 10)).toEqual([]);
      expect(live.filter(([key]) => key.startsWith("skipped!"))).toEqual([]);
      const lastMessage = await streamLastSequence(nats.url);
      expect(lastMessage).toBeGreaterThanOrEqual(events.at(-1)!.seq);
      expect(Number(liveMap.get("meta!checkpoint"))).toBe(lastMessage);

      // A rebuild of a copy of the data directory from sequence 1 makes the very same read model.
      const copy = await tempDir("keyledger-crash-copy-");
      await cp(dataDir, copy, { recursive: true });
      const rebuild = await runCli(["projections", "rebuild", "--data-dir", copy, "--nats-url", nats.url, "--output", "json"], {
        env: { PATH: process.env.PATH, HOME: copy },
        timeoutMs: 60_000,
      });
      expect(rebuild.code, rebuild.stderr).toBe(0);
      const rebuilt = await readModelEntries(copy);
      expect(rebuilt.length).toBeGreaterThan(1000);
      expect(differences(live, rebuilt)).toEqual([]);
      expect(digestOf(live)).toBe(digestOf(rebuilt));

      console.info(
        JSON.stringify({
          test: "daemon-crash",
          commands: COMMANDS,
          kills,
          summary: { ...summary, byKind: undefined },
          byKind: summary.byKind,
          stream: { ...stream, problems: stream.problems.length },
          readModelEntries: live.length,
          loadMs: loadEnded - started,
          totalMs: Date.now() - started,
        }),
      );
    },
    FULL ? 600_000 : 120_000,
  );
});
