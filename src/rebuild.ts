import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { JetStreamApiError, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { readTrustAnchor, TRUST_ANCHOR_FILE, writeTrustAnchor } from "./data-dir.js";
import { JetStreamEventStore, TrustLedger } from "./events/index.js";
import { connectNats, natsAuthOf, startNatsServer } from "./nats/index.js";
import { FreshReadModel, Projector, ReadModel } from "./projections/index.js";
import { signerFromSeed } from "./signing/index.js";
import { gatedSigner } from "./trust/index.js";

/** The rebuild cannot run on this data directory (a daemon uses it, it is not one, …): nothing was changed. */
export class RebuildRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RebuildRefused";
  }
}

/** The rebuild was stopped part way: the read model is as it was before (the new one, incomplete, is dropped). */
export class RebuildInterrupted extends Error {
  constructor(readonly position: number) {
    super(
      `interrupted at seq ${position}: the read model is as it was before the rebuild (a daemon starting on it catches up from its own checkpoint)`,
    );
    this.name = "RebuildInterrupted";
  }
}

export interface RebuildProgress {
  /** Events applied so far. */
  readonly applied: number;
  /** The stream sequence reached. */
  readonly position: number;
  /** The last event's sequence when the rebuild started: it runs up to there. */
  readonly head: number;
}

export interface RebuildResult {
  readonly dataDir: string;
  readonly head: number;
  readonly position: number;
  readonly applied: number;
  /** Stream messages passed over (not readable events, forged or out of their chain), with why. */
  readonly skipped: Array<{ seq: number; reason: string }>;
  /** Of the events applied, those a signed checkpoint vouched for (no Ed25519 check of their own). */
  readonly vouched: number;
  /** Ed25519 checks of event signatures made. */
  readonly signaturesChecked: number;
}

export interface RebuildOptions {
  readonly logger: Logger;
  readonly onProgress?: (progress: RebuildProgress) => void;
  readonly progressEveryMs?: number;
  /** Stops the rebuild (RebuildInterrupted) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * `keyledger projections rebuild`: projects the whole stream again into a new read model for a
 * stopped daemon's data directory, which replaces the old one once complete (FreshReadModel: all or
 * nothing), with the daemon's checks (each event signed by a key the
 * ledger's trust root trusted at its sequence), so it ends as a fresh daemon would build it. Wires
 * only what that needs: the read model first (its lock says whether a daemon runs there; only then
 * may the embedded nats-server start on `<data-dir>/nats`, which stops any server left there), NATS,
 * the stream (never created or reconfigured here), the trust root and a projector.
 */
export async function rebuildReadModel(config: Config, options: RebuildOptions): Promise<RebuildResult> {
  const { logger } = options;
  const dataDir = resolve(config.dataDir);
  const stops: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  const stopAll = async (): Promise<void> => {
    for (const { name, stop } of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.warn({ err: error, component: name }, "error while stopping");
      }
    }
  };

  try {
    const readModelPath = join(dataDir, "readmodel");
    if (!(await isDirectory(readModelPath)))
      throw new RebuildRefused(`${dataDir} holds no read model: give the daemon's --data-dir (KEYLEDGER_DATA_DIR)`);
    // Held open (and so locked against a daemon) until the new read model takes its place.
    const current = await openUnlocked(readModelPath, dataDir);
    stops.push({ name: "read model", stop: () => (current.db.status === "open" ? current.close() : undefined) });
    // A rebuild appends nothing: its store gets a key that refuses to sign.
    const signer = gatedSigner(signerFromSeed(randomBytes(32)), () => false);

    let natsUrl = config.natsUrl;
    let natsToken: string | undefined;
    if (natsUrl === undefined) {
      if (!(await isDirectory(join(dataDir, "nats"))))
        throw new RebuildRefused(
          `${dataDir} holds no embedded NATS data: give the --nats-url (KEYLEDGER_NATS_URL) the daemon used`,
        );
      natsToken = randomBytes(24).toString("base64url");
      const embedded = await startNatsServer({ storeDir: join(dataDir, "nats"), token: natsToken });
      stops.push({ name: "embedded nats-server", stop: () => embedded.stop() });
      natsUrl = embedded.url;
    }
    const nc = await connectNats(
      natsUrl,
      "keyledger-rebuild",
      natsToken === undefined ? natsAuthOf(config) : { token: natsToken },
    );
    stops.push({ name: "nats connection", stop: () => nc.drain() });

    // The stream as it is: its replicas and deduplication window are taken over, so nothing is reconfigured.
    const stream = await existingStream(nc, config.stream);
    const store = await JetStreamEventStore.open(nc, signer, {
      stream: config.stream,
      replicas: stream.replicas,
      duplicateWindowMs: stream.duplicateWindowMs,
      publishTimeoutMs: 5000,
      mustExist: true,
      reconfigure: false,
    });
    const trust = await trustOf(store, dataDir, config, logger);

    if (options.signal?.aborted === true) throw new RebuildRefused("interrupted before the read model was changed");
    const fresh = await FreshReadModel.beside(readModelPath);
    let replaced = false;
    stops.push({ name: "new read model", stop: () => (replaced ? undefined : fresh.abandon()) });
    const readModel = fresh.readModel;
    const head = await store.head();
    const projector = new Projector(store, readModel, logger.child({ component: "projector" }), {
      trust,
      confirmWithCheckpoints: true,
    });
    stops.push({ name: "projector", stop: () => projector.stop() });
    const report = (): void => options.onProgress?.({ applied: projector.appliedSinceStart, position: projector.position, head });
    const timer = setInterval(report, options.progressEveryMs ?? 200);
    try {
      await untilAborted(projector.start(), options.signal, () => new RebuildInterrupted(projector.position));
    } finally {
      clearInterval(timer);
    }
    report();
    await projector.stop();
    const result: RebuildResult = {
      dataDir,
      head,
      position: projector.position,
      applied: projector.appliedSinceStart,
      skipped: await readModel.skipped(),
      vouched: projector.vouchedSinceStart,
      signaturesChecked: projector.signaturesCheckedSinceStart,
    };
    await fresh.replace(current);
    replaced = true;
    return result;
  } finally {
    await stopAll();
  }
}

async function openUnlocked(path: string, dataDir: string): Promise<ReadModel> {
  try {
    return await ReadModel.open(path);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED")
      throw new RebuildRefused(`the read model in ${dataDir} is in use by a running daemon: stop the daemon first`);
    throw error;
  }
}

/**
 * The stream's trust root, checked against the anchor the data directory pinned (or
 * `--trust-anchor`): a rebuild never accepts another ledger's anchor, and never enrols one (a stream
 * without a genesis has had no daemon of this release yet: start one first).
 */
async function trustOf(store: JetStreamEventStore, dataDir: string, config: Config, logger: Logger): Promise<TrustLedger> {
  const pinnedInFile = await readTrustAnchor(dataDir);
  const pinned = config.trustAnchor ?? pinnedInFile;
  const trust = await TrustLedger.open(store, logger.child({ component: "trust" }), pinned);
  const anchor = trust.trust.anchor;
  if (anchor === null) {
    const mismatch = trust.refusedStatements.find(({ problem }) => problem.code === "anchor_mismatch");
    throw new RebuildRefused(
      mismatch !== undefined
        ? `${mismatch.problem.reason}: the stream belongs to another ledger than ${dataDir}; to rebuild from it on purpose, remove ${dataDir}/${TRUST_ANCHOR_FILE} first`
        : `the stream ${config.stream} has no trust anchor yet: start a daemon on it once, then rebuild`,
    );
  }
  if (pinnedInFile === undefined) await writeTrustAnchor(dataDir, anchor);
  return trust;
}

async function existingStream(nc: NatsConnection, name: string): Promise<{ replicas: number; duplicateWindowMs: number }> {
  try {
    const { config } = await (await jetstreamManager(nc)).streams.info(name);
    return { replicas: config.num_replicas, duplicateWindowMs: Math.round(config.duplicate_window / 1_000_000) };
  } catch (error) {
    if (error instanceof JetStreamApiError && error.status === 404)
      throw new RebuildRefused(`there is no stream ${name} on this NATS server: give the daemon's --stream and --nats-url`);
    throw error;
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, error: () => Error): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(error());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (failure: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(failure);
      },
    );
  });
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}
