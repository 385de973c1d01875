/**
 * A write load for reliability tests, and the checks that tell whether what it was told survived.
 *
 * Usage:
 *
 *   const load = startWriteLoad({ urls: [daemonUrl], adminKey, lanes: 8, maxCommands: 2500 });
 *   await load.whenAnswered(800);            // some progress first
 *   ...break something (kill -9 a daemon, stop nats-server)...
 *   const summary = await load.done;         // or: await load.stop()
 *   const check = checkStream(load.records, await readStreamEvents(natsUrl), load.requestIdPrefix);
 *   expect(check.problems).toEqual([]);
 *   expect(await checkDaemonState(daemonUrl, adminKey, load, await readStreamEvents(natsUrl))).toEqual([]);
 *
 * How the load knows what it was told. Every request carries its own `x-request-id`
 * (`<prefix>.<lane>.<n>`), which the daemon takes as the request id and writes into each event it
 * appends for that request (`requestId` of the envelope). Each lane owns the accounts it created and
 * keeps an exact model of them, so before it sends a command it knows which events the command must
 * decide (`expectedEvents`, e.g. a rotation while a secret is retained is
 * `[ApiKeyRetentionExpired, ApiKeyRotated]`). Each answer is then classified:
 *
 *   acknowledged  2xx: the write is durable and applied.
 *   rejected      the daemon answered that nothing was written (4xx, or 503 "nothing was written").
 *   unreachable   the connection was refused: the request never reached a daemon.
 *   unknown       anything else (connection lost mid-request, timeout, 503 "may be partly recorded",
 *                 500): the write may or may not have happened, possibly only its first events.
 *                 The lane stops using that account (its model is no longer exact).
 *
 * `checkStream` then holds the stream to account, by request id:
 *   - every acknowledged request has exactly its expected events, in order, on its account
 *     (nothing lost, nothing applied twice);
 *   - a rejected or unreachable request has none;
 *   - an unknown one has a prefix of its expected events (possibly none, possibly all);
 *   - no event carries a request id of this load that it never sent;
 *   - event ids are unique, and each account's `accountVersion` runs 1, 2, 3, … in stream order.
 * `checkDaemonState` asks a daemon (over HTTP) for every account whose model is exact and compares:
 * deleted accounts are 404, the others have the modelled name, description, active flag, live keys
 * (ids, descriptions, active, whether a secret is retained) and `version` = its number of events.
 *
 * `load.secrets()` is every plaintext key the daemons issued in a 2xx answer (for scans of logs,
 * streams and files); `load.liveSecrets()` is those that must verify as valid now.
 */
import { performance } from "node:perf_hooks";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

export type CommandKind =
  | "createAccount"
  | "createAccountWithoutKey"
  | "createKey"
  | "rotateKey"
  | "rotateKeyRetaining"
  | "patchKeyDescription"
  | "patchKeyActive"
  | "patchKeyDescriptionAndActive"
  | "patchAccountDescription"
  | "patchAccountActive"
  | "deleteKey"
  | "deleteAccount";

export type Outcome = "acknowledged" | "rejected" | "unreachable" | "unknown";

/** One command the load sent, and what came of it. */
export interface WriteRecord {
  /** Order in which the load sent it (0, 1, 2, …). */
  readonly index: number;
  readonly lane: number;
  readonly kind: CommandKind;
  /** The daemon it went to. */
  readonly url: string;
  readonly method: "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly body: unknown;
  /** Sent as `x-request-id`; every event of this request carries it as `requestId`. */
  readonly requestId: string;
  /** The account it changes; null for a creation until the answer names it. */
  accountId: string | null;
  readonly keyId: string | null;
  /** The event types the command must decide, in order, given the lane's model of the account. */
  readonly expectedEvents: readonly string[];
  /** performance.now() when sent and answered (or failed). */
  readonly startedAt: number;
  finishedAt: number;
  latencyMs: number;
  outcome: Outcome;
  /** False while the request is in flight. */
  settled: boolean;
  /** HTTP status; null without an answer. */
  status: number | null;
  /** `error.code` of an error answer, or the network error's code / name. */
  code: string | null;
  message: string | null;
  /** The answer's body of a 2xx (secrets removed: see `secret`). */
  resource: unknown;
  /** A plaintext key issued in this answer. */
  secret: string | null;
}

export interface WriteLoadOptions {
  /** Daemon base URLs; lane i talks to urls[i % urls.length]. */
  readonly urls: readonly string[];
  /** An admin API key (or access token) for every daemon. */
  readonly adminKey: string;
  /** Concurrent lanes, each one request at a time (default 8). */
  readonly lanes?: number;
  /** Stop after this many commands (unreachable ones not counted); default: until stop(). */
  readonly maxCommands?: number;
  /** Prefix of account names and request ids, unique per load (default random). [A-Za-z0-9-], ≤ 20 chars. */
  readonly prefix?: string;
  /** A request not answered in this time is aborted and recorded as unknown (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** A lane waits this long after an answer that is not 2xx or after a network error (default 100 ms). */
  readonly pauseAfterFailureMs?: number;
  /** Seed of the command mix (default 1): the same seed makes the same choices for the same answers. */
  readonly seed?: number;
  /** Seconds a `rotateKeyRetaining` keeps the previous secret (default 3600: the scheduler never closes it during a test). */
  readonly retainSeconds?: number;
}

export interface WriteLoadSummary {
  readonly sent: number;
  readonly acknowledged: number;
  readonly rejected: number;
  readonly unreachable: number;
  readonly unknown: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
}

export interface WriteLoad {
  /** Every command sent so far, in the order sent (a live array: records fill in as answers come). */
  readonly records: readonly WriteRecord[];
  /** The prefix of every request id of this load. */
  readonly requestIdPrefix: string;
  /** Resolves when every lane has ended: maxCommands reached, or stop() called. */
  readonly done: Promise<WriteLoadSummary>;
  /** Asks the lanes to end; resolves once their requests in flight are answered (or failed). */
  stop(): Promise<WriteLoadSummary>;
  summary(): WriteLoadSummary;
  /** Resolves once `count` commands have an outcome other than unreachable (rejects if the load ends first). */
  whenAnswered(count: number): Promise<void>;
  /** Resolves once `count` commands were acknowledged (rejects if the load ends first). */
  whenAcknowledged(count: number): Promise<void>;
  /** Every plaintext key issued in a 2xx answer. */
  secrets(): ReadonlySet<string>;
  /** The current secrets of keys that must verify as valid now (active key of an active, exactly modelled account). */
  liveSecrets(): string[];
  /** The lanes' model of every account whose state is known exactly (accounts with an unknown outcome left out). */
  exactAccounts(): readonly ModelAccount[];
}

/** A lane's model of one account. */
export interface ModelAccount {
  readonly id: string;
  readonly name: string;
  description: string;
  active: boolean;
  deleted: boolean;
  /** Events of the account so far (its read-model version). */
  version: number;
  readonly keys: Map<string, ModelKey>;
  /** False once a command on it had an unknown outcome. */
  exact: boolean;
}

export interface ModelKey {
  readonly id: string;
  readonly name: string;
  description: string;
  active: boolean;
  deleted: boolean;
  /** The current plaintext. */
  secret: string;
  /** Whether a previous secret is retained (a rotation with retainSeconds > 0 not yet superseded). */
  retaining: boolean;
}

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Plan {
  readonly kind: CommandKind;
  readonly method: "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly body: unknown;
  readonly account: ModelAccount | null;
  readonly key: ModelKey | null;
  readonly expectedEvents: readonly string[];
  /** Applies a 2xx answer to the model. */
  readonly apply: (body: any) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the load at once; see the module comment. */
export function startWriteLoad(options: WriteLoadOptions): WriteLoad {
  const laneCount = options.lanes ?? 8;
  const maxCommands = options.maxCommands ?? Number.POSITIVE_INFINITY;
  const prefix = options.prefix ?? `wl${Math.random().toString(36).slice(2, 8)}`;
  if (!/^[A-Za-z0-9-]{1,20}$/.test(prefix)) throw new Error(`prefix must be 1–20 characters of A-Z a-z 0-9 -, got ${prefix}`);
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const pauseMs = options.pauseAfterFailureMs ?? 100;
  const retainSeconds = options.retainSeconds ?? 3600;
  const rand = random(options.seed ?? 1);

  const records: WriteRecord[] = [];
  const accounts: ModelAccount[] = [];
  const issued = new Set<string>();
  let counted = 0;
  let stopping = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };

  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const unique = (() => {
    let n = 0;
    return () => (n += 1);
  })();

  const plan = (lane: number, owned: ModelAccount[]): Plan => {
    const usable = owned.filter((account) => account.exact && !account.deleted);
    if (usable.length < 2 || rand() < 0.1) {
      const withKey = rand() < 0.85;
      const name = `${prefix}-${lane}-${unique()}`;
      return {
        kind: withKey ? "createAccount" : "createAccountWithoutKey",
        method: "POST",
        path: "/v1/service-accounts",
        body: { name, description: "load", roles: ["verifier"], createApiKey: withKey },
        account: null,
        key: null,
        expectedEvents: withKey ? ["ServiceAccountCreated", "ApiKeyCreated"] : ["ServiceAccountCreated"],
        apply: (body) => {
          const account: ModelAccount = {
            id: body.serviceAccount.id,
            name,
            description: "load",
            active: true,
            deleted: false,
            version: withKey ? 2 : 1,
            keys: new Map(),
            exact: true,
          };
          if (withKey) {
            const key = body.apiKey;
            account.keys.set(key.id, {
              id: key.id,
              name: key.name,
              description: "",
              active: true,
              deleted: false,
              secret: key.key,
              retaining: false,
            });
          }
          owned.push(account);
          accounts.push(account);
        },
      };
    }
    const account = pick(usable);
    const accountPath = `/v1/service-accounts/${account.id}`;
    const live = [...account.keys.values()].filter((key) => !key.deleted);
    const choices: Array<[number, () => Plan]> = [];
    const done = (events: string[], change: (body: any) => void) => (body: any) => {
      change(body);
      account.version += events.length;
    };
    if (live.length < 6) {
      choices.push([
        3,
        () => {
          const name = `k${unique()}`;
          const events = ["ApiKeyCreated"];
          return {
            kind: "createKey",
            method: "POST",
            path: `${accountPath}/api-keys`,
            body: { name, description: "created" },
            account,
            key: null,
            expectedEvents: events,
            apply: done(events, (body) =>
              account.keys.set(body.id, {
                id: body.id,
                name,
                description: "created",
                active: true,
                deleted: false,
                secret: body.key,
                retaining: false,
              }),
            ),
          };
        },
      ]);
    }
    if (live.length > 0) {
      const key = pick(live);
      const keyPath = `${accountPath}/api-keys/${key.id}`;
      const rotate = (retain: number) => (): Plan => {
        const events = key.retaining ? ["ApiKeyRetentionExpired", "ApiKeyRotated"] : ["ApiKeyRotated"];
        return {
          kind: retain === 0 ? "rotateKey" : "rotateKeyRetaining",
          method: "POST",
          path: `${keyPath}/rotate`,
          body: { retainSeconds: retain },
          account,
          key,
          expectedEvents: events,
          apply: done(events, (body) => {
            key.secret = body.key;
            key.retaining = retain > 0;
          }),
        };
      };
      choices.push([3, rotate(0)], [2, rotate(retainSeconds)]);
      choices.push([
        2,
        () => {
          const description = `d${unique()}`;
          const events = ["ApiKeyUpdated"];
          return {
            kind: "patchKeyDescription",
            method: "PATCH",
            path: keyPath,
            body: { description },
            account,
            key,
            expectedEvents: events,
            apply: done(events, () => (key.description = description)),
          };
        },
      ]);
      choices.push([
        2,
        () => {
          const events = [key.active ? "ApiKeyDeactivated" : "ApiKeyActivated"];
          const active = !key.active;
          return {
            kind: "patchKeyActive",
            method: "PATCH",
            path: keyPath,
            body: { active },
            account,
            key,
            expectedEvents: events,
            apply: done(events, () => (key.active = active)),
          };
        },
      ]);
      choices.push([
        1,
        () => {
          const description = `d${unique()}`;
          const active = !key.active;
          // The decider puts a deactivation first and an activation last.
          const events = active ? ["ApiKeyUpdated", "ApiKeyActivated"] : ["ApiKeyDeactivated", "ApiKeyUpdated"];
          return {
            kind: "patchKeyDescriptionAndActive",
            method: "PATCH",
            path: keyPath,
            body: { description, active },
            account,
            key,
            expectedEvents: events,
            apply: done(events, () => {
              key.description = description;
              key.active = active;
            }),
          };
        },
      ]);
      if (live.length >= 2) {
        choices.push([
          1,
          () => {
            const events = ["ApiKeyDeleted"];
            return {
              kind: "deleteKey",
              method: "DELETE",
              path: keyPath,
              body: undefined,
              account,
              key,
              expectedEvents: events,
              apply: done(events, () => (key.deleted = true)),
            };
          },
        ]);
      }
    }
    choices.push([
      2,
      () => {
        const description = `d${unique()}`;
        const events = ["ServiceAccountUpdated"];
        return {
          kind: "patchAccountDescription",
          method: "PATCH",
          path: accountPath,
          body: { description },
          account,
          key: null,
          expectedEvents: events,
          apply: done(events, () => (account.description = description)),
        };
      },
    ]);
    choices.push([
      1,
      () => {
        const active = !account.active;
        const events = [active ? "ServiceAccountActivated" : "ServiceAccountDeactivated"];
        return {
          kind: "patchAccountActive",
          method: "PATCH",
          path: accountPath,
          body: { active },
          account,
          key: null,
          expectedEvents: events,
          apply: done(events, () => (account.active = active)),
        };
      },
    ]);
    if (usable.length > 3) {
      choices.push([
        1,
        () => {
          const events = ["ServiceAccountDeleted"];
          return {
            kind: "deleteAccount",
            method: "DELETE",
            path: accountPath,
            body: undefined,
            account,
            key: null,
            expectedEvents: events,
            apply: done(events, () => {
              account.deleted = true;
              account.active = false;
            }),
          };
        },
      ]);
    }
    let ticket = rand() * choices.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, make] of choices) {
      ticket -= weight;
      if (ticket < 0) return make();
    }
    return choices.at(-1)![1]();
  };

  const send = async (lane: number, url: string, step: Plan, n: number): Promise<WriteRecord> => {
    const requestId = `${prefix}.${lane}.${n}`;
    const startedAt = performance.now();
    const record: WriteRecord = {
      index: records.length,
      lane,
      kind: step.kind,
      url,
      method: step.method,
      path: step.path,
      body: step.body,
      requestId,
      accountId: step.account?.id ?? null,
      keyId: step.key?.id ?? null,
      expectedEvents: step.expectedEvents,
      startedAt,
      finishedAt: startedAt,
      latencyMs: 0,
      outcome: "unknown",
      settled: false,
      status: null,
      code: null,
      message: null,
      resource: null,
      secret: null,
    };
    records.push(record);
    try {
      const response = await fetch(`${url}${step.path}`, {
        method: step.method,
        headers: {
          authorization: `Bearer ${options.adminKey}`,
          "x-request-id": requestId,
          ...(step.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: step.body === undefined ? undefined : JSON.stringify(step.body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await response.text();
      record.status = response.status;
      let body: any = null;
      try {
        body = text === "" ? null : JSON.parse(text);
      } catch {
        body = text;
      }
      if (response.ok) {
        record.outcome = "acknowledged";
        const secret: unknown = body?.apiKey?.key ?? body?.key;
        if (typeof secret === "string") {
          record.secret = secret;
          issued.add(secret);
        }
        record.resource = withoutSecrets(body);
        step.apply(body);
        if (record.accountId === null) record.accountId = body?.serviceAccount?.id ?? null;
      } else {
        record.code = body?.error?.code ?? null;
        record.message = body?.error?.message ?? null;
        const nothingWritten =
          (response.status >= 400 && response.status < 500) ||
          (response.status === 503 && /nothing was written|shutting down/.test(record.message ?? ""));
        record.outcome = nothingWritten ? "rejected" : "unknown";
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      record.code = cause?.code ?? (error as Error).name;
      record.message = (error as Error).message;
      record.outcome = cause?.code === "ECONNREFUSED" ? "unreachable" : "unknown";
    }
    record.finishedAt = performance.now();
    record.latencyMs = record.finishedAt - startedAt;
    record.settled = true;
    // A model that is not exact any more is not used again; a 4xx on an exact model is a surprise
    // (recorded for the test to see), and the account is left alone too.
    if (record.outcome === "unknown" || (record.outcome === "rejected" && record.status !== 503)) {
      if (step.account !== null) step.account.exact = false;
    }
    return record;
  };

  const runLane = async (lane: number): Promise<void> => {
    const url = options.urls[lane % options.urls.length]!;
    const owned: ModelAccount[] = [];
    let n = 0;
    while (!stopping && counted < maxCommands) {
      const step = plan(lane, owned);
      counted += 1;
      n += 1;
      const record = await send(lane, url, step, n);
      if (record.outcome === "unreachable") counted -= 1;
      notify();
      if (record.outcome !== "acknowledged") await sleep(pauseMs);
    }
  };

  const summary = (): WriteLoadSummary => {
    const byKind: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    const outcomes: Record<Outcome, number> = { acknowledged: 0, rejected: 0, unreachable: 0, unknown: 0 };
    for (const record of records) {
      byKind[record.kind] = (byKind[record.kind] ?? 0) + 1;
      const status = String(record.status ?? record.code ?? "none");
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      outcomes[record.outcome] += 1;
    }
    return { sent: records.length, ...outcomes, byKind, byStatus };
  };

  let ended = false;
  const done = Promise.all(Array.from({ length: laneCount }, (_, lane) => runLane(lane))).then(() => {
    ended = true;
    notify();
    return summary();
  });

  const when = (test: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (test()) {
          listeners.delete(check);
          resolve();
        } else if (ended) {
          listeners.delete(check);
          reject(new Error(`the load ended before ${what}: ${JSON.stringify(summary())}`));
        }
      };
      listeners.add(check);
      check();
    });

  return {
    records,
    requestIdPrefix: `${prefix}.`,
    done,
    stop: async () => {
      stopping = true;
      return done;
    },
    summary,
    whenAnswered: (count) =>
      when(
        () => records.filter((record) => record.settled && record.outcome !== "unreachable").length >= count,
        `${count} answers`,
      ),
    whenAcknowledged: (count) =>
      when(() => records.filter((record) => record.outcome === "acknowledged").length >= count, `${count} acknowledgements`),
    secrets: () => issued,
    liveSecrets: () =>
      accounts
        .filter((account) => account.exact && account.active && !account.deleted)
        .flatMap((account) => [...account.keys.values()].filter((key) => key.active && !key.deleted).map((key) => key.secret)),
    exactAccounts: () => accounts.filter((account) => account.exact),
  };
}

function withoutSecrets(body: any): unknown {
  if (body === null || typeof body !== "object") return body;
  if (body.apiKey !== undefined) return { ...body, apiKey: withoutSecrets(body.apiKey) };
  if ("key" in body) {
    const { key: _secret, ...rest } = body;
    return rest;
  }
  return body;
}

/** What the checks need of an event: its envelope's bookkeeping and its place in the stream. */
export interface StreamEvent {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly accountId: string;
  readonly accountVersion: number;
  readonly requestId: string | null;
}

/** The stream's last sequence, of any subject (an event, a checkpoint, a key statement). */
export async function streamLastSequence(natsUrl: string, stream = "KEYLEDGER"): Promise<number> {
  const nc = await connect({ servers: natsUrl, reconnect: false });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

/**
 * Every event of a keyledger stream (`kl.acct.*`, in stream order), read straight from NATS, with a
 * connection of its own: the truth, independent of any daemon.
 */
export async function readStreamEvents(natsUrl: string, stream = "KEYLEDGER"): Promise<StreamEvent[]> {
  const nc = await connect({ servers: natsUrl, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.getMessage(stream, { last_by_subj: "kl.acct.*" }).catch(() => null))?.seq ?? 0;
    const events: StreamEvent[] = [];
    if (last === 0) return events;
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: "kl.acct.*" });
    const messages = await consumer.consume({ max_messages: 1024 });
    for await (const message of messages) {
      const envelope = JSON.parse(Buffer.from(message.data).toString("utf8")) as Omit<StreamEvent, "seq">;
      events.push({
        seq: message.seq,
        id: envelope.id,
        type: envelope.type,
        accountId: envelope.accountId,
        accountVersion: envelope.accountVersion,
        requestId: envelope.requestId,
      });
      if (message.seq >= last) break;
    }
    await messages.close();
    return events;
  } finally {
    await nc.close();
  }
}

export interface StreamCheck {
  /** Every broken property, as sentences; empty when the stream accounts for every answer. */
  readonly problems: string[];
  /** Acknowledged requests whose events were all found. */
  readonly acknowledgedFound: number;
  /** Unknown-outcome requests that left all / some / none of their events. */
  readonly unknownLanded: number;
  readonly unknownPartial: number;
  readonly unknownAbsent: number;
  /** Events of the whole stream, and of this load. */
  readonly events: number;
  readonly loadEvents: number;
}

/** Holds the stream to account for every answer of a load; see the module comment. At most 20 problems of each kind are listed. */
export function checkStream(
  records: readonly WriteRecord[],
  events: readonly StreamEvent[],
  requestIdPrefix: string,
): StreamCheck {
  const problems: string[] = [];
  const limited = new Map<string, number>();
  const problem = (kind: string, text: string): void => {
    const n = (limited.get(kind) ?? 0) + 1;
    limited.set(kind, n);
    if (n <= 20) problems.push(text);
    else if (n === 21) problems.push(`(more problems of kind "${kind}" left out)`);
  };

  const ids = new Set<string>();
  const versions = new Map<string, number>();
  const byRequest = new Map<string, StreamEvent[]>();
  let loadEvents = 0;
  for (const event of events) {
    if (ids.has(event.id)) problem("duplicate-id", `event id ${event.id} appears twice (again at seq ${event.seq})`);
    ids.add(event.id);
    const previous = versions.get(event.accountId) ?? 0;
    if (event.accountVersion !== previous + 1)
      problem(
        "version",
        `account ${event.accountId}: event at seq ${event.seq} has accountVersion ${event.accountVersion} after ${previous}`,
      );
    versions.set(event.accountId, event.accountVersion);
    if (event.requestId?.startsWith(requestIdPrefix) === true) {
      loadEvents += 1;
      const list = byRequest.get(event.requestId) ?? [];
      list.push(event);
      byRequest.set(event.requestId, list);
    }
  }

  const sent = new Set<string>();
  let acknowledgedFound = 0;
  let unknownLanded = 0;
  let unknownPartial = 0;
  let unknownAbsent = 0;
  for (const record of records) {
    sent.add(record.requestId);
    const found = byRequest.get(record.requestId) ?? [];
    const types = found.map((event) => event.type);
    const describe = `${record.kind} ${record.method} ${record.path} (${record.requestId}, ${record.outcome} ${record.status ?? record.code})`;
    const wrongAccount = record.accountId !== null && found.some((event) => event.accountId !== record.accountId);
    if (wrongAccount) problem("account", `${describe}: events on another account than ${record.accountId}`);
    if (record.accountId === null && new Set(found.map((event) => event.accountId)).size > 1)
      problem("account", `${describe}: events on several accounts`);
    switch (record.outcome) {
      case "acknowledged":
        if (sameList(types, record.expectedEvents)) acknowledgedFound += 1;
        else if (types.length === 0) problem("lost", `${describe}: acknowledged, but no event of it is in the stream`);
        else
          problem(
            "mismatch",
            `${describe}: expected [${record.expectedEvents.join(", ")}], the stream has [${types.join(", ")}]`,
          );
        break;
      case "rejected":
      case "unreachable":
        if (types.length > 0)
          problem("phantom", `${describe}: answered that nothing was written, yet the stream has [${types.join(", ")}]`);
        break;
      case "unknown":
        if (types.length === 0) unknownAbsent += 1;
        else if (sameList(types, record.expectedEvents)) unknownLanded += 1;
        else if (sameList(types, record.expectedEvents.slice(0, types.length))) unknownPartial += 1;
        else
          problem(
            "mismatch",
            `${describe}: expected a prefix of [${record.expectedEvents.join(", ")}], the stream has [${types.join(", ")}]`,
          );
        break;
      default: {
        const _: never = record.outcome;
        throw new Error(`unknown outcome ${String(_)}`);
      }
    }
  }
  for (const requestId of byRequest.keys()) {
    if (!sent.has(requestId)) problem("unsent", `the stream has events of request ${requestId}, which the load never sent`);
  }
  return { problems, acknowledgedFound, unknownLanded, unknownPartial, unknownAbsent, events: events.length, loadEvents };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/**
 * Asks a daemon for every exactly modelled account of the load and compares it with the model and,
 * given the stream's events, checks that its `version` is its number of events there. Answers the
 * differences as sentences (at most 50).
 */
export async function checkDaemonState(
  url: string,
  adminKey: string,
  load: Pick<WriteLoad, "exactAccounts">,
  events?: readonly StreamEvent[],
): Promise<string[]> {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const event of events ?? []) counts.set(event.accountId, (counts.get(event.accountId) ?? 0) + 1);
  const queue = [...load.exactAccounts()];
  const check = async (account: ModelAccount): Promise<void> => {
    const response = await fetch(`${url}/v1/service-accounts/${account.id}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const body: any = await response.json().catch(() => null);
    const say = (text: string): void => void problems.push(`account ${account.id} (${account.name}): ${text}`);
    if (account.deleted) {
      if (response.status !== 404) say(`deleted, but GET answers ${response.status}`);
      return;
    }
    if (response.status !== 200) return say(`GET answers ${response.status}`);
    if (body.description !== account.description) say(`description ${body.description}, modelled ${account.description}`);
    if (body.active !== account.active) say(`active ${body.active}, modelled ${account.active}`);
    if (body.version !== account.version) say(`version ${body.version}, modelled ${account.version}`);
    const inStream = counts.get(account.id);
    if (events !== undefined && body.version !== inStream)
      say(`version ${body.version}, but ${inStream ?? 0} events in the stream`);
    const live = [...account.keys.values()].filter((key) => !key.deleted);
    const answered = new Map<string, any>((body.apiKeys as any[]).map((key) => [key.id, key]));
    if (answered.size !== live.length) say(`${answered.size} keys, modelled ${live.length}`);
    for (const key of live) {
      const got = answered.get(key.id);
      if (got === undefined) {
        say(`key ${key.id} missing`);
        continue;
      }
      if (got.description !== key.description) say(`key ${key.id}: description ${got.description}, modelled ${key.description}`);
      if (got.active !== key.active) say(`key ${key.id}: active ${got.active}, modelled ${key.active}`);
      if ((got.retainedUntil !== null) !== key.retaining)
        say(`key ${key.id}: retainedUntil ${got.retainedUntil}, modelled ${key.retaining}`);
    }
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let account = queue.shift(); account !== undefined; account = queue.shift()) await check(account);
    }),
  );
  return problems.slice(0, 50);
}
