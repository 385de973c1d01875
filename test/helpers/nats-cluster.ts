import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll } from "vitest";
import { findNatsServer } from "../../src/nats/index.js";
import { waitUntil } from "./http.js";
import { tempDir } from "./nats.js";
import { freePort } from "./ports.js";

/** One nats-server of the cluster: fixed ports (so that it restarts where it was), its own store. */
export interface ClusterNode {
  /** The server name (`server_name`), as JetStream reports leaders and peers. */
  readonly name: string;
  /** nats://127.0.0.1:<client port> */
  readonly url: string;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  /** The config file it runs with (see `clusterNodeConfig`). */
  readonly configFile: string;
  /** Whether its process runs now. */
  readonly running: boolean;
  /** Its pid while it runs, else NaN. */
  readonly pid: number;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL, comma-separated: what `--nats-url` takes. */
  readonly urls: string;
  node(name: string): ClusterNode;
  /** SIGKILLs a node (no goodbye to its peers: a crash) and waits until its process is gone. */
  kill(name: string): Promise<void>;
  /** Starts a killed node again on its ports and store; resolves once its /healthz says JetStream is current. */
  restart(name: string): Promise<void>;
  /** The server name of the node leading a stream's replicas (asked through a running node). */
  streamLeader(stream: string): Promise<string>;
  /** A connection to the running nodes (made on first use, closed by `stop`). */
  connection(): Promise<NatsConnection>;
  /** The last lines a node wrote to stderr (for failure messages). */
  log(name: string): string;
  /** Kills every node (SIGTERM, then SIGKILL) and removes the store directories. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly clusterName?: string;
  /** How long to wait for the cluster to elect a JetStream meta leader. */
  readonly readyTimeoutMs?: number;
}

interface NodeState {
  readonly name: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly configFile: string;
  child: ChildProcess | null;
  exited: Promise<void>;
  stderr: string;
}

const live = new Set<ChildProcess>();

/** Whatever a test did, no nats-server of a cluster outlives its test file. */
afterAll(() => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
});

/**
 * A nats-server config for one node of a JetStream cluster on loopback: the same file, with real
 * addresses, is what a clustered deployment runs on each of its three hosts.
 */
export function clusterNodeConfig(settings: {
  readonly name: string;
  readonly clusterName: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly routes: readonly number[];
}): string {
  return [
    `server_name: ${JSON.stringify(settings.name)}`,
    `listen: "127.0.0.1:${settings.clientPort}"`,
    `http: "127.0.0.1:${settings.monitorPort}"`,
    `jetstream {`,
    `  store_dir: ${JSON.stringify(settings.storeDir)}`,
    `}`,
    `cluster {`,
    `  name: ${JSON.stringify(settings.clusterName)}`,
    `  listen: "127.0.0.1:${settings.clusterPort}"`,
    `  routes: [`,
    ...settings.routes.map((port) => `    "nats-route://127.0.0.1:${port}"`),
    `  ]`,
    `}`,
    ``,
  ].join("\n");
}

/**
 * Starts `size` (default 3) nats-server processes with JetStream, clustered on loopback, each
 * with its own temporary store, and resolves once every node sees the same JetStream meta leader.
 */
export async function startNatsCluster(options: ClusterOptions = {}): Promise<NatsCluster> {
  const binary = findNatsServer();
  if (binary === null) throw new Error("nats-server is not installed");
  const size = options.size ?? 3;
  const clusterName = options.clusterName ?? "kl";
  const root = await tempDir("keyledger-cluster-");
  const ports = await distinctFreePorts(size * 3);
  const states: NodeState[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const storeDir = join(root, name);
    await mkdir(storeDir, { recursive: true });
    const state: NodeState = {
      name,
      clientPort: ports[i * 3]!,
      clusterPort: ports[i * 3 + 1]!,
      monitorPort: ports[i * 3 + 2]!,
      storeDir,
      configFile: join(root, `${name}.conf`),
      child: null,
      exited: Promise.resolve(),
      stderr: "",
    };
    states.push(state);
  }
  for (const state of states) {
    const routes = states.filter((other) => other !== state).map((other) => other.clusterPort);
    await writeFile(state.configFile, clusterNodeConfig({ ...state, clusterName, routes }));
  }

  const byName = (name: string): NodeState => {
    const state = states.find((candidate) => candidate.name === name);
    if (state === undefined) throw new Error(`no node ${name} in the cluster`);
    return state;
  };
  const running = (state: NodeState): boolean =>
    state.child !== null && state.child.exitCode === null && state.child.signalCode === null;

  const launch = (state: NodeState): void => {
    const child = spawn(binary, ["-c", state.configFile], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    live.add(child);
    state.child = child;
    state.exited = new Promise((resolve) =>
      child.once("exit", () => {
        live.delete(child);
        resolve();
      }),
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      state.stderr = (state.stderr + chunk.toString("utf8")).slice(-8000);
    });
  };

  const monitor = async (state: NodeState, path: string): Promise<{ status: number; body: any } | null> => {
    try {
      const response = await fetch(`http://127.0.0.1:${state.monitorPort}${path}`, { signal: AbortSignal.timeout(2000) });
      return { status: response.status, body: await response.json() };
    } catch {
      return null;
    }
  };

  /** Every running node reports the same meta leader (the cluster can create and place streams). */
  const metaLeaderAgreed = async (): Promise<boolean> => {
    const leaders = await Promise.all(
      states
        .filter(running)
        .map(async (state) => (await monitor(state, "/jsz"))?.body?.meta_cluster?.leader as string | undefined),
    );
    return leaders.length > 0 && leaders.every((leader) => typeof leader === "string" && leader !== "" && leader === leaders[0]);
  };

  let nc: NatsConnection | null = null;
  const urls = states.map((state) => `nats://127.0.0.1:${state.clientPort}`).join(",");

  const stop = async (): Promise<void> => {
    await nc?.close().catch(() => undefined);
    nc = null;
    await Promise.all(
      states.map(async (state) => {
        const child = state.child;
        if (child === null || !running(state)) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await state.exited;
        clearTimeout(timer);
      }),
    );
    await rm(root, { recursive: true, force: true });
  };

  try {
    for (const state of states) launch(state);
    await waitUntil(
      async () => {
        const dead = states.find((state) => !running(state));
        if (dead !== undefined) throw new Error(`nats-server ${dead.name} exited: ${dead.stderr.trim()}`);
        return metaLeaderAgreed();
      },
      options.readyTimeoutMs ?? 30_000,
      200,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const view = (state: NodeState): ClusterNode => ({
    name: state.name,
    url: `nats://127.0.0.1:${state.clientPort}`,
    clusterPort: state.clusterPort,
    monitorPort: state.monitorPort,
    storeDir: state.storeDir,
    configFile: state.configFile,
    running: running(state),
    pid: running(state) ? state.child!.pid! : Number.NaN,
  });

  const connection = async (): Promise<NatsConnection> => {
    if (nc === null || nc.isClosed()) {
      nc = await connect({ servers: urls.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 250, name: "test-cluster" });
    }
    return nc;
  };

  return {
    get nodes() {
      return states.map(view);
    },
    urls,
    node: (name) => view(byName(name)),
    kill: async (name) => {
      const state = byName(name);
      if (!running(state)) return;
      state.child!.kill("SIGKILL");
      await state.exited;
    },
    restart: async (name) => {
      const state = byName(name);
      if (running(state)) throw new Error(`node ${name} is running`);
      launch(state);
      // /healthz answers 200 once the server's JetStream is current with the meta layer and its streams.
      await waitUntil(
        async () => {
          if (!running(state)) throw new Error(`nats-server ${name} exited: ${state.stderr.trim()}`);
          return (await monitor(state, "/healthz"))?.status === 200 && (await metaLeaderAgreed());
        },
        30_000,
        200,
      );
    },
    streamLeader: async (stream) => {
      const jsm = await jetstreamManager(await connection());
      let leader: string | undefined;
      await waitUntil(
        async () => {
          try {
            leader = (await jsm.streams.info(stream)).cluster?.leader;
          } catch {
            leader = undefined;
          }
          return leader !== undefined && leader !== "";
        },
        30_000,
        200,
      );
      return leader!;
    },
    connection,
    log: (name) => byName(name).stderr,
    stop,
  };
}

/** `count` different loopback ports that were free a moment ago. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
