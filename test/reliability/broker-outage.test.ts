/**
 * Issue 5, item 2: nats-server stops in the middle of a write load and starts again. While it is
 * down, writes answer 503 within a bound that follows from the daemon's configured timeouts, and
 * reads and verification go on from the read model; afterwards writes succeed again within seconds,
 * and nothing acknowledged is lost.
 *
 * The daemon runs as a real `keyledger serve` process; the nats-server is the test's own, restarted
 * on the same port and store. KEYLEDGER_RELIABILITY_FULL=1 runs longer, with more outages.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { startNatsServer, type EmbeddedNats } from "../../src/nats/index.js";
import { CLI } from "../helpers/cli.js";
import { spawnDaemon } from "../helpers/daemon-process.js";
import { client, sleep, waitUntil } from "../helpers/http.js";
import { tempDir } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";
import { checkDaemonState, checkStream, readStreamEvents, startWriteLoad, type WriteRecord } from "../helpers/write-load.js";

const FULL = process.env.KEYLEDGER_RELIABILITY_FULL === "1";
const OUTAGES = FULL ? 3 : 1;
const LANES = 6;
/** The daemon's configured timeouts: one request to JetStream (--publish-timeout-ms), and the wait for its own read model. */
const PUBLISH_TIMEOUT_MS = 1000;
const READ_YOUR_WRITES_TIMEOUT_MS = 2000;
/**
 * The longest a write may take while the broker is away, from the configuration: an append tries
 * three times (PUBLISH_TIMEOUT_MS each), any other request to JetStream waits PUBLISH_TIMEOUT_MS, and a
 * write whose event was acknowledged waits at most READ_YOUR_WRITES_TIMEOUT_MS for the read model.
 * The slack covers a busy machine: this is a bound, not a speed claim.
 */
const WRITE_BOUND_MS = 3 * PUBLISH_TIMEOUT_MS + READ_YOUR_WRITES_TIMEOUT_MS + 2000;
/** How long the broker stays down: longer than the bound, so that a write hanging past it shows. */
const OUTAGE_MS = WRITE_BOUND_MS + 2000;
/** From the broker's return, every write succeeds again after at most this long (generous: a bound, not a speed claim). */
const RECOVERY_BOUND_MS = 15_000;
/** Recovered means: this many writes in a row acknowledged. */
const STEADY_RUN = 100;

/** The first write of the latest unbroken run of acknowledged writes started after `since`, and the run's length. */
function latestRun(records: readonly WriteRecord[], since: number): { first: WriteRecord | undefined; length: number } {
  let first: WriteRecord | undefined;
  let length = 0;
  for (const record of records) {
    if (record.startedAt <= since || !record.settled) continue;
    if (record.outcome === "acknowledged") {
      first ??= record;
      length += 1;
    } else {
      first = undefined;
      length = 0;
    }
  }
  return { first, length };
}

let server: EmbeddedNats | undefined;

afterAll(async () => {
  await server?.stop();
});

describe("when nats-server stops during a write load and starts again", () => {
  it(
    `refuses writes with 503 within the configured bound, keeps reading and verifying, recovers, and loses nothing (${OUTAGES} outage(s))`,
    async () => {
      const started = Date.now();
      const storeDir = await tempDir("keyledger-outage-nats-");
      server = await startNatsServer({ storeDir });
      const natsUrl = server.url;
      const natsPort = Number(new URL(natsUrl).port);
      const port = await freePort();
      const dataDir = await tempDir("keyledger-outage-");
      const daemon = spawnDaemon(
        process.execPath,
        [
          CLI,
          "serve",
          ...["--port", String(port), "--data-dir", dataDir, "--nats-url", natsUrl, "--log-level", "warn"],
          ...["--publish-timeout-ms", String(PUBLISH_TIMEOUT_MS)],
          ...["--read-your-writes-timeout-ms", String(READ_YOUR_WRITES_TIMEOUT_MS)],
        ],
        port,
        { env: { PATH: process.env.PATH, HOME: dataDir } },
      );
      await daemon.ready;
      const url = `http://127.0.0.1:${port}`;
      const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
      const admin = client(url, adminKey);

      // Requests are never aborted by the load: a hang shows as a long latency, not as a timeout.
      const load = startWriteLoad({ urls: [url], adminKey, lanes: LANES, seed: 11, requestTimeoutMs: 120_000 });
      const outages: Array<Record<string, number>> = [];
      const during: WriteRecord[] = [];
      let acknowledgedBefore = 0;
      for (let outage = 1; outage <= OUTAGES; outage++) {
        acknowledgedBefore += 300;
        await load.whenAcknowledged(acknowledgedBefore);

        await server.stop();
        const down = performance.now();
        // Wait until no write that started before the stop is still in flight: the model is settled.
        await waitUntil(
          () => load.records.every((record) => record.settled || record.startedAt > down),
          WRITE_BOUND_MS + 5000,
        ).catch(() => undefined);

        // The daemon says it is not ready once it has seen the connection go (a moment after the
        // stop: once the first /readyz came before that and answered 200).
        await waitUntil(async () => (await client(url).get("/readyz")).status === 503, 5000, 20);
        // Reads and verification go on from the read model, again and again while the broker is away.
        const secrets = load.liveSecrets();
        const accounts = load.exactAccounts().filter((account) => !account.deleted);
        expect(secrets.length).toBeGreaterThan(10);
        let reads = 0;
        while (performance.now() - down < OUTAGE_MS) {
          const secret = secrets[reads % secrets.length]!;
          const verified = await admin.post("/v1/auth/verify", { key: secret });
          expect(verified.status).toBe(200);
          expect(verified.body.valid).toBe(true);
          const account = accounts[reads % accounts.length]!;
          const read = await admin.get(`/v1/service-accounts/${account.id}`);
          expect(read.status).toBe(200);
          expect(read.body.version).toBe(account.version);
          expect((await admin.get("/v1/service-accounts?limit=20")).status).toBe(200);
          expect((await client(url).get("/readyz")).status).toBe(503);
          reads += 1;
          await sleep(50);
        }

        const restarting = performance.now();
        server = await startNatsServer({ storeDir, port: natsPort });
        const back = performance.now();

        // No write hung: whatever was in flight at the stop or started while the broker was away
        // answered within the bound; and every one answered before it came back was a 503.
        const affected = load.records.filter(
          (record) => record.startedAt < restarting && (!record.settled || record.finishedAt > down),
        );
        await waitUntil(() => affected.every((record) => record.settled), WRITE_BOUND_MS + 10_000).catch(() => undefined);
        const slow = affected.filter((record) => !record.settled || record.latencyMs > WRITE_BOUND_MS);
        const took = (r: WriteRecord): string =>
          r.settled
            ? `${r.status ?? r.code} after ${Math.round(r.latencyMs)} ms`
            : `no answer after ${Math.round(performance.now() - r.startedAt)} ms`;
        expect(slow.map((r) => `${r.kind}: ${took(r)}`)).toEqual([]);

        const window = affected.filter((record) => record.startedAt > down && record.settled && record.finishedAt < restarting);
        during.push(...window);
        expect(window.length).toBeGreaterThan(LANES);
        expect(
          window
            .filter((record) => record.status !== 503 || record.code !== "unavailable")
            .map((r) => `${r.kind} ${r.status ?? r.code}`),
        ).toEqual([]);

        // Writes succeed again soon after: from some point at most RECOVERY_BOUND_MS after the broker is
        // back, every write is acknowledged (STEADY_RUN of them in a row, at least).
        await waitUntil(() => latestRun(load.records, back).length >= STEADY_RUN, RECOVERY_BOUND_MS + 30_000).catch(
          () => undefined,
        );
        const run = latestRun(load.records, back);
        expect(run.length, "writes acknowledged in a row after the broker came back").toBeGreaterThanOrEqual(STEADY_RUN);
        const recoveredAfterMs = run.first!.startedAt - back;
        expect(recoveredAfterMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        acknowledgedBefore = load.summary().acknowledged;
        outages.push({
          reads,
          refused: window.length,
          maxRefusalMs: Math.round(Math.max(...window.map((record) => record.latencyMs))),
          maxLatencyAffectedMs: Math.round(Math.max(...affected.map((record) => record.latencyMs))),
          natsRestartMs: Math.round(back - restarting),
          recoveredAfterMs: Math.round(Math.max(0, recoveredAfterMs)),
          failedAfterBack: load.records.filter((r) => r.startedAt > back && r.startedAt < run.first!.startedAt).length,
        });
      }
      const summary = await load.stop();

      // Nothing acknowledged is lost, nothing applied twice, nothing written for a "nothing was written".
      const events = await readStreamEvents(natsUrl);
      const stream = checkStream(load.records, events, load.requestIdPrefix);
      expect(stream.problems).toEqual([]);
      expect(stream.acknowledgedFound).toBe(summary.acknowledged);
      expect(await checkDaemonState(url, adminKey, load, events)).toEqual([]);
      // The lanes' exact model only meets refusals of the outage (never a 4xx).
      expect(load.records.filter((record) => record.outcome === "rejected" && record.status !== 503)).toEqual([]);

      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
      console.info(
        JSON.stringify({
          test: "broker-outage",
          writeBoundMs: WRITE_BOUND_MS,
          outages,
          summary: { ...summary, byKind: undefined },
          refusedDuringOutages: during.length,
          stream: { ...stream, problems: stream.problems.length },
          totalMs: Date.now() - started,
        }),
      );
    },
    FULL ? 600_000 : 120_000,
  );
});
