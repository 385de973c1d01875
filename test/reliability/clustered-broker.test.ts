import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon-process.js";
import { approveDaemons } from "../helpers/trust.js";
import { client, sleep, waitUntil } from "../helpers/http.js";
import { startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.js";
import { tempDir } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";
import { checkDaemonState, checkStream, readStreamEvents, startWriteLoad, type WriteRecord } from "../helpers/write-load.js";

/**
 * Issue 5, item 3: the deployment a growing user runs. Three nats-server nodes clustered on
 * loopback, the stream and KV buckets with 3 replicas, two `keyledger serve` processes that each
 * know all three servers. The node leading the stream is killed (SIGKILL) under load from both
 * daemons: writes must answer 2xx again on both within RESUME_WITHIN_MS (503 meanwhile), every
 * write that was acknowledged (2xx) must be in the stream, read through a surviving node, and in
 * both daemons' read models, and each daemon's audit must find the stream whole. At the end the
 * killed node is started again and its replica catches up.
 */

const STREAM = "KEYLEDGER";
const REPLICAS = 3;
/**
 * How long after the kill writes may take to answer 2xx again on each daemon. Measured on two busy
 * cores: 5–6 s (the stream elects a leader and the daemon's consumers are fine), or about 6 s more
 * for each time a daemon's new consumer is placed on the dead node, which the cluster still counts
 * as a peer for a while: its creation times out (5 s) and is tried again (1 s). 25 s was the most
 * seen; the bound leaves room for six such misses in a row.
 */
const RESUME_WITHIN_MS = 45_000;
/** Acknowledged writes asked of each daemon before the kill, and after it. */
const WRITES_BEFORE = 20;
const WRITES_AFTER = 20;
/** How often a probe write is sent to each daemon after the kill. */
const PROBE_EVERY_MS = 500;

interface Node {
  readonly name: "a" | "b";
  readonly url: string;
  readonly dataDir: string;
  readonly process: DaemonProcess;
}

let cluster: NatsCluster;
let daemons: Node[] = [];
let adminKey: string;

async function serve(name: "a" | "b"): Promise<Node> {
  const port = await freePort();
  const dataDir = await tempDir(`keyledger-cluster-${name}-`);
  const args = [CLI, "serve", "--port", String(port), "--data-dir", dataDir];
  args.push("--nats-url", cluster.urls, "--replicas", String(REPLICAS), "--log-level", "warn");
  const child = spawnDaemon(process.execPath, args, port, { env: { PATH: process.env.PATH, HOME: dataDir } });
  await Promise.race([
    child.ready,
    child.exited.then((code) => Promise.reject(new Error(`daemon ${name} exited (${code}): ${child.output()}`))),
  ]);
  if (name === "a") adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
  return { name, url: `http://127.0.0.1:${port}`, dataDir, process: child };
}

beforeAll(async () => {
  cluster = await startNatsCluster();
  // One after the other: the first bootstraps the admin account, the second finds it in the stream.
  daemons = [await serve("a"), await serve("b")];
  // Each made its own signing key: b's counts once an admin approved it.
  await approveDaemons(
    adminKey,
    daemons.map((node) => node.url),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(
    daemons.map(async ({ process: daemon }) => {
      if (daemon.child.exitCode !== null) return;
      daemon.child.kill("SIGTERM");
      const timer = setTimeout(() => daemon.child.kill("SIGKILL"), 10_000);
      await daemon.exited;
      clearTimeout(timer);
    }),
  );
  await cluster?.stop();
  await Promise.all(daemons.map((node) => rm(node.dataDir, { recursive: true, force: true })));
}, 30_000);

describe("a clustered broker: 3 nats-server nodes, stream and KV buckets with 3 replicas, two daemons", () => {
  it("loses the stream leader under load: writes resume on both daemons and nothing acknowledged is lost", async () => {
    const jsm = await jetstreamManager(await cluster.connection());
    // The daemons made the stream and their KV buckets replicated on every node.
    for (const stream of [STREAM, `${STREAM}_REVOCATIONS`, "KV_keyledger_signing_keys", "KV_keyledger_usage"]) {
      const info = await jsm.streams.info(stream);
      expect(info.config.num_replicas, stream).toBe(REPLICAS);
      expect((info.cluster?.replicas ?? []).length, stream).toBe(REPLICAS - 1);
    }

    // Lane i writes to daemon i % 2: three lanes per daemon, each creating, rotating, patching, deleting.
    const load = startWriteLoad({
      urls: daemons.map((node) => node.url),
      adminKey,
      lanes: 6,
      prefix: "cluster",
      requestTimeoutMs: 60_000,
      pauseAfterFailureMs: 200,
    });
    const acknowledgedBy = (node: Node, after = 0): WriteRecord[] =>
      load.records.filter((r) => r.url === node.url && r.startedAt > after && r.outcome === "acknowledged");
    let leader = "";
    let consumersOnLeader = "";
    let probes: Probe[][] = [];
    try {
      // Writes acknowledged by both daemons before the crash.
      await waitUntil(() => daemons.every((node) => acknowledgedBy(node).length >= WRITES_BEFORE), 60_000, 100);

      leader = await cluster.streamLeader(STREAM);
      consumersOnLeader = await consumersOn(leader);
      const killedAt = performance.now();
      await cluster.kill(leader);

      // Writes resume: new writes sent to each daemon after the crash are acknowledged again within
      // the bound. Probes go out on their own, so that lanes held up by a write begun before the
      // crash (a publish timing out and tried again) do not hide when writes were taken again.
      probes = await Promise.all(daemons.map((node) => probe(node, killedAt + RESUME_WITHIN_MS)));
      const resumedAfter = daemons.map((node, i) => {
        const first = Math.min(...probes[i]!.filter((p) => ok(p.status)).map((p) => p.finishedAt));
        return { daemon: node.name, ms: Math.round(first - killedAt), probes: probes[i]!.map((p) => p.status ?? p.error) };
      });
      console.info(
        `killed stream leader ${leader} (${consumersOnLeader}); writes acknowledged again after ${JSON.stringify(resumedAfter)}`,
      );
      for (const { daemon, ms } of resumedAfter) {
        if (!(ms <= RESUME_WITHIN_MS)) {
          const logs = daemons.map((node) => `--- daemon ${node.name}\n${node.process.output().slice(-3000)}`).join("\n");
          throw new Error(
            `writes to daemon ${daemon} were not acknowledged again within ${RESUME_WITHIN_MS} ms of killing ${leader}\n${logs}`,
          );
        }
      }

      // And the lanes go on after the crash on both daemons.
      await waitUntil(() => daemons.every((node) => acknowledgedBy(node, killedAt).length >= WRITES_AFTER), 60_000, 100);
    } finally {
      await load.stop();
    }
    const newLeader = await cluster.streamLeader(STREAM);
    expect(newLeader).not.toBe(leader);
    const summary = load.summary();
    console.info(
      `new stream leader ${newLeader}; load: ${JSON.stringify({ sent: summary.sent, acknowledged: summary.acknowledged, rejected: summary.rejected, unknown: summary.unknown, byStatus: summary.byStatus })}`,
    );

    // While the leader was replaced, writes were acknowledged or refused with 503; nothing else.
    const unexpected = [
      ...load.records
        .filter((r) => !ok(r.status) && r.status !== 503)
        .map((r) => `${r.requestId} ${r.kind} ${r.status ?? r.code}: ${r.message}`),
      ...probes
        .flat()
        .filter((p) => !ok(p.status) && p.status !== 503)
        .map((p) => `${p.requestId} ${p.status ?? p.error}`),
    ];
    expect(unexpected, "answers other than 2xx and 503").toEqual([]);

    // Nothing acknowledged is lost: the stream, read through a surviving node only, holds every
    // acknowledged request's events (and none of a request answered "nothing was written").
    const survivor = cluster.nodes.find((node) => node.running)!;
    const events = await retried(() => readStreamEvents(survivor.url, STREAM));
    const check = checkStream(load.records, events, load.requestIdPrefix);
    expect(check.problems).toEqual([]);
    expect(check.acknowledgedFound).toBe(summary.acknowledged);
    const acknowledgedProbes = probes.flat().filter((p) => ok(p.status));
    const lostProbes = acknowledgedProbes.filter((p) => {
      const types = events.filter((event) => event.requestId === p.requestId).map((event) => event.type);
      return types.join() !== "ServiceAccountCreated,ApiKeyCreated";
    });
    expect(lostProbes, "acknowledged probes without their events").toEqual([]);

    // Both read models agree with the stream and with each other.
    for (const node of daemons) {
      const differences = () => checkDaemonState(node.url, adminKey, load, events);
      // The daemon that did not answer a write applies it a moment later.
      await waitUntil(async () => (await differences()).length === 0, 30_000, 500).catch(() => undefined);
      expect(await differences(), `read model of daemon ${node.name}`).toEqual([]);
      for (const p of acknowledgedProbes) {
        expect((await client(node.url, adminKey).get(`/v1/service-accounts/${p.accountId}`)).status, p.requestId).toBe(200);
      }
    }
    await waitUntil(
      async () => JSON.stringify(await listAll(daemons[0]!.url)) === JSON.stringify(await listAll(daemons[1]!.url)),
      30_000,
      500,
    ).catch(() => undefined);
    const [listedByA, listedByB] = await Promise.all(daemons.map((node) => listAll(node.url)));
    expect(listedByA).toEqual(listedByB);

    // Each daemon's audit finds the stream whole: signatures, hashes, chains, checkpoints, and every
    // event its read model was built from.
    for (const node of daemons) {
      // A read may still answer 503 while the cluster settles; the audit is asked again then.
      const report = await retried(async () => {
        const answer = await client(node.url, adminKey).get("/v1/audit/verify");
        if (answer.status !== 200) throw new Error(`audit on ${node.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
        return answer.body;
      });
      expect(report.problems, node.name).toEqual([]);
      expect(report.ok, node.name).toBe(true);
    }

    // The killed node comes back and catches up: its replica is current again.
    await cluster.restart(leader);
    await waitUntil(
      async () => {
        const info = await jsm.streams.info(STREAM);
        const replica = info.cluster?.replicas?.find((peer) => peer.name === leader);
        return info.cluster?.leader === leader || (replica?.current === true && replica.offline !== true);
      },
      30_000,
      250,
    );
  }, 180_000);
});

function ok(status: number | null): boolean {
  return status !== null && status >= 200 && status < 300;
}

/** One write sent to see whether a daemon takes writes again. */
interface Probe {
  readonly requestId: string;
  status: number | null;
  error: string | null;
  accountId: string | null;
  finishedAt: number;
}

/**
 * Sends a creation to a daemon every PROBE_EVERY_MS, each on its own (never queued behind a slow
 * one), until one is acknowledged or `until` (performance.now()) passes; answers every probe sent,
 * once all are answered.
 */
async function probe(node: Node, until: number): Promise<Probe[]> {
  const probes: Probe[] = [];
  const answers: Promise<void>[] = [];
  for (let n = 1; !probes.some((p) => ok(p.status)) && performance.now() < until; n++) {
    const p: Probe = { requestId: `probe.${node.name}.${n}`, status: null, error: null, accountId: null, finishedAt: 0 };
    probes.push(p);
    const answer = fetch(`${node.url}/v1/service-accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json", "x-request-id": p.requestId },
      body: JSON.stringify({ name: `probe-${node.name}-${n}` }),
      signal: AbortSignal.timeout(60_000),
    }).then(
      async (response) => {
        const body: any = await response.json().catch(() => null);
        p.accountId = body?.serviceAccount?.id ?? null;
        p.status = response.status;
      },
      (error: Error) => void (p.error = error.name),
    );
    answers.push(answer.finally(() => (p.finishedAt = performance.now())));
    await sleep(PROBE_EVERY_MS);
  }
  await Promise.all(answers);
  return probes;
}

/** How many of the stream's consumers (the daemons' followers and readers, all ephemeral) a node holds. */
async function consumersOn(node: string): Promise<string> {
  const jsm = await jetstreamManager(await cluster.connection());
  let all = 0;
  let there = 0;
  for await (const consumer of jsm.consumers.list(STREAM)) {
    all += 1;
    if (consumer.cluster?.leader === node) there += 1;
  }
  return `${there} of the stream's ${all} consumers on it`;
}

/** Asks again (for up to 30 s) while the cluster still settles after the crash, e.g. a NATS request timing out. */
async function retried<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Every account a daemon's read model lists, in its order. */
async function listAll(url: string): Promise<unknown[]> {
  const api = client(url, adminKey);
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await api.get(
      `/v1/service-accounts?limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    if (page.status !== 200) throw new Error(`listing accounts on ${url}: ${page.status}`);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return items;
}
