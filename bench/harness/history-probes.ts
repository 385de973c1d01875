import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { client, sleep } from "../../test/helpers/http.js";
import type { RunningDaemon } from "./processes.js";
import { median, percentile, type Row } from "./report.js";

/** An account of the history and the sequence of its first event. */
export interface SampledAccount {
  readonly id: string;
  readonly seq: number;
}

/** Times (ms) of the questions about the past that issue 13 sets targets for. */
export interface HistoryProbes {
  readonly head: number;
  /** A page of 50 accounts as of a random point, after a random account. */
  readonly page: number[];
  /** One account, with its keys, as of a random point after its creation. */
  readonly account: number[];
  /** What changed over the last 1,000 events. */
  readonly diff: number[];
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/**
 * A random account among those created by `at`. The accounts are in the order of their creation,
 * so those are a prefix, found by bisection: the load generator shares the cores with the daemon,
 * and filtering 100,000 accounts for every page would time the generator, not the daemon.
 */
function createdBy(accounts: readonly SampledAccount[], at: number): SampledAccount {
  let low = 0;
  let high = accounts.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (accounts[middle]!.seq <= at) low = middle + 1;
    else high = middle;
  }
  return accounts[Math.floor(Math.random() * Math.max(1, low))]!;
}
const cursorAfter = (accountId: string): string => Buffer.from(accountId, "utf8").toString("base64url");

async function timed(request: () => Promise<{ status: number }>): Promise<number> {
  const start = performance.now();
  const answer = await request();
  const ms = performance.now() - start;
  if (answer.status !== 200) throw new Error(`a question about the past was answered ${answer.status}`);
  return ms;
}

/** Asks each question `samples` times, one at a time, against a daemon whose read model holds the history up to `head`. */
export async function probeHistory(
  daemon: RunningDaemon,
  head: number,
  accounts: readonly SampledAccount[],
  samples: number,
): Promise<HistoryProbes> {
  const admin = client(daemon.url, await daemon.adminKey());
  const point = (from: number) => from + Math.floor(Math.random() * (head - from + 1));
  const probes: HistoryProbes = { head, page: [], account: [], diff: [] };
  for (let i = 0; i < samples; i++) {
    const at = point(Math.floor(head / 2));
    const after = createdBy(accounts, at);
    probes.page.push(await timed(() => admin.get(`/v1/service-accounts?asOf=${at}&limit=50&cursor=${cursorAfter(after.id)}`)));
    const account = pick(accounts);
    probes.account.push(await timed(() => admin.get(`/v1/service-accounts/${account.id}?asOf=${point(account.seq)}`)));
    probes.diff.push(await timed(() => admin.get(`/v1/audit/diff?from=${Math.max(0, head - 1000)}&to=${head}&limit=100`)));
  }
  return probes;
}

/** Rows 11a–11c: each question on the long history against the same on the short one. */
export function historyRows(short: HistoryProbes, long: HistoryProbes): Row[] {
  const row = (id: string, name: string, key: "page" | "account" | "diff", limitMs: number | null): Row => {
    const ours = median(long[key]);
    const baseline = median(short[key]);
    const ratio = ours / baseline;
    const within = limitMs === null || percentile(long[key], 99) <= limitMs;
    return {
      id,
      name: `${name} (${long.head.toLocaleString("en-US")} events)`,
      ours: {
        value: ours,
        unit: "ms",
        detail: `p99 ${percentile(long[key], 99).toFixed(1)} ms, max ${Math.max(...long[key]).toFixed(1)} ms, median of ${long[key].length}`,
      },
      baselineName: `the same on a history of ${short.head.toLocaleString("en-US")} events`,
      baseline: { value: baseline, unit: "ms", detail: `p99 ${percentile(short[key], 99).toFixed(1)} ms` },
      ratio,
      target: {
        text: `time ratio ≤ 2${limitMs === null ? "" : ` and p99 ≤ ${limitMs} ms`}`,
        met: ratio <= 2 && within,
      },
      note: "a time ratio: lower is better",
    };
  };
  return [
    row("11a", "as-of page of 50 accounts, at a random point, after a random account", "page", 100),
    row("11b", "one account with its keys as of a random point", "account", 20),
    row("11c", "diff of the last 1,000 events", "diff", null),
  ];
}

/** Row 11d: what the read model (current records, history and indexes) costs on disk, per event. */
export async function storageRow(readModelDir: string, streamBytes: number, events: number): Promise<Row> {
  const bytes = await directoryBytes(readModelDir);
  return {
    id: "11d",
    name: `read model on disk per event, history included (${events.toLocaleString("en-US")} events)`,
    ours: { value: bytes / events, unit: "bytes/event", detail: `${(bytes / 2 ** 20).toFixed(0)} MiB` },
    baselineName: "the stream's own bytes per event (nats-server's count)",
    baseline: { value: streamBytes / events, unit: "bytes/event", detail: `${(streamBytes / 2 ** 20).toFixed(0)} MiB` },
    ratio: bytes / streamBytes,
    target: { text: "reported (no target)", met: true },
    note: "a size ratio: the read model's bytes ÷ the stream's",
  };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(path) : (await stat(path)).size;
  }
  return total;
}

/**
 * Row 12: verification latency on a daemon while four auditors page through the past and an
 * audit verify runs, against the same daemon quiet. Verifications come at a steady rate (open
 * loop), so that the figure is the wait a verifier sees, not a saturated queue.
 */
export async function verifyUnderAuditRow(
  daemon: RunningDaemon,
  head: number,
  accounts: readonly SampledAccount[],
  key: string,
  seconds: number,
): Promise<Row> {
  const admin = client(daemon.url, await daemon.adminKey());
  const auditors: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await admin.post("/v1/service-accounts", { name: `bench-auditor-${i}-${Date.now()}`, roles: ["auditor"] });
    if (created.status !== 201) throw new Error(`creating an auditor failed: ${created.status}`);
    auditors.push(created.body.apiKey.key as string);
  }
  const quiet = await verifyLatencies(daemon.url, await daemon.adminKey(), key, seconds);

  let stopping = false;
  const audit = new AbortController();
  const auditRun = fetch(`${daemon.url}/v1/audit/verify`, {
    headers: { authorization: `Bearer ${auditors[4]}` },
    signal: audit.signal,
  }).catch(() => undefined);
  let pages = 0;
  const loops = auditors.slice(0, 4).map(async (auditor) => {
    const reader = client(daemon.url, auditor);
    while (!stopping) {
      const at = Math.floor(head / 2) + Math.floor(Math.random() * (head / 2));
      const after = createdBy(accounts, at);
      const answer = await reader.get(`/v1/service-accounts?asOf=${at}&limit=50&cursor=${cursorAfter(after.id)}`);
      if (answer.status !== 200) throw new Error(`an auditor's page was answered ${answer.status}`);
      pages += 1;
    }
  });
  await sleep(1000); // the audit under way
  const loaded = await verifyLatencies(daemon.url, await daemon.adminKey(), key, seconds);
  stopping = true;
  await Promise.all(loops);
  audit.abort();
  await auditRun;

  const ratio = percentile(loaded, 99) / percentile(quiet, 99);
  return {
    id: "12",
    name: "POST /v1/auth/verify p99 at 200 a second while 4 auditors page through the past and an audit verify runs",
    ours: {
      value: percentile(loaded, 99),
      unit: "ms",
      detail: `p50 ${median(loaded).toFixed(2)} ms; ${pages} as-of pages meanwhile`,
    },
    baselineName: "the same daemon quiet",
    baseline: { value: percentile(quiet, 99), unit: "ms", detail: `p50 ${median(quiet).toFixed(2)} ms` },
    ratio,
    target: { text: "time ratio ≤ 3", met: ratio <= 3 },
    note: "a time ratio: lower is better; the audit's signature checks run at the lowest scheduling priority",
  };
}

/** Latencies (ms) of verifications sent at 200 a second for `seconds`, each on its own, whatever the others' answers. */
async function verifyLatencies(url: string, credential: string, key: string, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  const body = JSON.stringify({ key });
  const end = performance.now() + seconds * 1000;
  for (let next = performance.now(); next < end; next += 5) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    const start = performance.now();
    pending.push(
      fetch(`${url}/v1/auth/verify`, {
        method: "POST",
        headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
        body,
      }).then(async (answer) => {
        await answer.arrayBuffer();
        if (answer.status !== 200) throw new Error(`a verification was answered ${answer.status}`);
        latencies.push(performance.now() - start);
      }),
    );
  }
  await Promise.all(pending);
  return latencies;
}
