import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { AUDIT_SHARE, auditAdmission, AuditPacer, buildApp, loadConsoleFiles } from "./api/index.js";
import { bootstrapAdmin, claimHeldByStream, CommandHandler, ServiceAccounts, SigningKeys } from "./application/index.js";
import { Authenticator, FailedAuthLimiter, UsageTracker, VerifiedTokenCache } from "./auth/index.js";
import type { Config } from "./config.js";
import { privateDataDir } from "./data-dir.js";
import {
  CheckpointWriter,
  JetStreamEventStore,
  KeyAnnouncements,
  NameRegistry,
  RELAY_MARK_FILE,
  relayMarkFile,
  RevocationRelay,
  StreamMissingError,
  TrustLedger,
} from "./events/index.js";
import { ConnectionState, connectNats, natsAuthOf, startNatsServer, type EmbeddedNats } from "./nats/index.js";
import { Metrics } from "./metrics/index.js";
import { ProjectionLag, Projector, Queries, ReadModel, reprojectionNeeded, TimeTravel } from "./projections/index.js";
import { RetentionScheduler } from "./scheduler/index.js";
import { loadSigner, type Signer } from "./signing/index.js";
import { checkKeysHead, establishTrust, ledgerMemory, streamBehind, streamExpected, streamMissing } from "./startup-checks.js";
import { gatedSigner, SigningKeyNotTrustedError } from "./trust/index.js";

export interface Daemon {
  /** The address the HTTP API listens on, such as http://127.0.0.1:8080. */
  readonly url: string;
  readonly natsUrl: string;
  readonly store: JetStreamEventStore;
  readonly trust: TrustLedger;
  readonly signingKeys: SigningKeys;
  /** The daemon's own signing key (not gated). */
  readonly signer: Signer;
  readonly readModel: ReadModel;
  readonly projector: Projector;
  readonly scheduler: RetentionScheduler;
  readonly relay: RevocationRelay;
  readonly checkpoints: CheckpointWriter;
  readonly accounts: ServiceAccounts;
  readonly authenticator: Authenticator;
  readonly app: FastifyInstance;
  /** Stops everything in reverse order of start; safe to call twice. */
  stop(): Promise<void>;
}

export interface DaemonOptions {
  readonly logger: Logger;
  readonly clock?: () => Date;
  /** The signing key, instead of the configured one (benchmarks compare the write path without signatures). */
  readonly signer?: Signer;
}

/**
 * The composition root: starts (embedded NATS,) the connection, the event store, the read model
 * and its projector, the bootstrap, the scheduler and the HTTP API, and stops them in reverse.
 */
export async function startDaemon(config: Config, options: DaemonOptions): Promise<Daemon> {
  const { logger } = options;
  const clock = options.clock ?? (() => new Date());
  const dataDir = resolve(config.dataDir);
  const stops: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  const stopAll = async (): Promise<void> => {
    for (const { name, stop } of stops.splice(0).reverse()) {
      logger.debug({ component: name }, "stopping");
      try {
        await stop();
      } catch (error) {
        logger.warn({ err: error, component: name }, "error while stopping");
      }
    }
  };

  try {
    await privateDataDir(dataDir);
    // The read model first: its lock keeps a second daemon off this data directory, and its
    // checkpoint says whether the stream must already exist.
    const readModel = await ReadModel.open(join(dataDir, "readmodel"));
    stops.push({ name: "read model", stop: () => readModel.close() });
    const memory = await ledgerMemory(dataDir, await readModel.checkpoint());

    let natsUrl = config.natsUrl;
    let natsToken: string | undefined;
    if (natsUrl === undefined) {
      // The embedded server admits only this daemon: a fresh token each start, in a 0600 file.
      natsToken = randomBytes(24).toString("base64url");
      const embedded: EmbeddedNats = await startNatsServer({ storeDir: join(dataDir, "nats"), token: natsToken });
      stops.push({ name: "embedded nats-server", stop: () => embedded.stop() });
      natsUrl = embedded.url;
      logger.info({ natsUrl, pid: embedded.pid }, "embedded nats-server started");
    }

    const nc: NatsConnection = await connectNats(
      natsUrl,
      "keyledger",
      natsToken === undefined ? natsAuthOf(config) : { token: natsToken },
    );
    stops.push({ name: "nats connection", stop: () => nc.drain() });
    const connection = new ConnectionState(nc);

    const { signer, created } =
      options.signer === undefined
        ? await loadSigner(dataDir, { seed: config.signingKey, file: config.signingKeyFile })
        : { signer: options.signer, created: false };
    if (created) logger.info({ path: join(dataDir, "signing.key"), keyId: signer.keyId }, "signing key created");

    // Everything this daemon signs passes here, and is refused while the ledger does not trust its key.
    let ledger: TrustLedger | undefined;
    const gated = gatedSigner(signer, (kid) => ledger?.trustedNow(kid) != null);
    let store: JetStreamEventStore;
    try {
      store = await JetStreamEventStore.open(nc, gated, {
        connected: () => connection.connected,
        stream: config.stream,
        replicas: config.replicas,
        duplicateWindowMs: config.duplicateWindowMs,
        publishTimeoutMs: config.publishTimeoutMs,
        mustExist: streamExpected(memory),
      });
    } catch (error) {
      if (error instanceof StreamMissingError) throw streamMissing(config.stream, natsUrl, dataDir, memory);
      throw error;
    }
    const head = await store.head();
    if (head < memory.checkpoint) throw streamBehind(config.stream, head, dataDir, memory);

    ledger = await TrustLedger.open(store, logger.child({ component: "trust" }), config.trustAnchor ?? memory.pinnedInFile);
    const trust = ledger;
    checkKeysHead(trust, await readModel.keysHead(), config.stream, dataDir);
    const announcements = await KeyAnnouncements.open(nc, config.replicas, logger.child({ component: "trust" }));
    stops.push({ name: "signing key announcements", stop: () => announcements.stop() });
    const queries = new Queries(readModel);
    const signingKeys = new SigningKeys(
      store,
      trust,
      announcements,
      async () => queries.untrustedSigners(trust.trust.genesisSeq),
      signer,
      clock,
    );
    const { anchor } = await establishTrust({
      ledger: trust,
      signingKeys,
      signer,
      dataDir,
      stream: config.stream,
      configured: config.trustAnchor,
      memory,
      hasEvents: (await store.lastEventSequence()) > 0,
      logger,
    });
    // Every daemon says which key it signs with, so that an admin can approve a new one by its id.
    await announcements.announce(signer);
    if (await reprojectionNeeded(readModel, trust)) {
      logger.warn(
        "signing keys trusted since this read model was built cover events it passed over: rebuilding it from the stream",
      );
      await readModel.clear();
    }

    const relay = await RevocationRelay.open(store, trust, logger.child({ component: "revocation-relay" }), {
      sealedHere: (envelope) => store.sealedHere(envelope),
      // How far it has looked, so that a restart does not read the history since the last revocation again.
      marks: relayMarkFile(join(config.dataDir, RELAY_MARK_FILE)),
    });
    relay.start();
    stops.push({ name: "revocation relay", stop: () => relay.stop() });
    const usage = await UsageTracker.open(nc, logger, config.replicas);
    stops.push({ name: "usage tracker", stop: () => usage.stop() });

    const projector = new Projector(store, readModel, logger.child({ component: "projector" }), {
      trust,
      sealedHere: (envelope) => store.sealedHere(envelope),
      confirmWithCheckpoints: true,
    });
    await projector.start();
    stops.push({ name: "projector", stop: () => projector.stop() });
    const projectionLag = new ProjectionLag(store, projector, logger.child({ component: "projection-lag" }));
    await projectionLag.start();
    stops.push({ name: "projection lag", stop: () => projectionLag.stop() });

    const handler = new CommandHandler(store, readModel, projector, clock, {
      maxAttempts: 5,
      readYourWritesTimeoutMs: config.readYourWritesTimeoutMs,
    });
    const signs = (): boolean => trust.trustedNow(signer.keyId) !== null;
    const accounts = new ServiceAccounts(
      handler,
      new NameRegistry(store),
      claimHeldByStream(store, clock, config.nameClaimGraceMs),
      clock,
      () => {
        if (!signs()) throw new SigningKeyNotTrustedError(signer.keyId);
      },
    );

    // A daemon whose key the ledger does not trust never bootstraps: the stream has its admin already.
    if (signs()) await bootstrapAdmin({ queries, accounts, dataDir, logger, clock });

    const scheduler = new RetentionScheduler(queries, accounts, clock, logger.child({ component: "scheduler" }), {
      intervalMs: config.schedulerIntervalMs,
      batchSize: 100,
      enabled: signs,
    });
    scheduler.start();
    stops.push({ name: "scheduler", stop: () => scheduler.stop() });

    const checkpoints = new CheckpointWriter(store, gated, projector, signs, clock, logger.child({ component: "checkpoints" }), {
      intervalMs: config.checkpointIntervalMs,
    });
    checkpoints.start();
    stops.push({ name: "checkpoint writer", stop: () => checkpoints.stop() });

    const authenticator = new Authenticator(queries, trust, new VerifiedTokenCache(), usage, clock, {
      maxLifetimeSeconds: config.tokenTtlSeconds,
      clockSkewSeconds: config.tokenClockSkewSeconds,
    });
    const metrics = new Metrics({
      eventsAppended: () => store.appendedByType,
      projectionLag: () => projectionLag.lag,
      projectorPosition: () => projector.position,
      projectorApplied: () => projector.appliedSinceStart,
      projectorBatches: () => projector.batchesSinceStart,
      schedulerRuns: () => scheduler.runs,
      schedulerExpiries: () => scheduler.expiries,
      natsConnected: () => connection.connected,
      relayExamined: () => relay.examined,
      relayPosition: () => relay.lookedUpTo,
    });
    const https =
      config.tlsCert === undefined || config.tlsKey === undefined
        ? undefined
        : { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) };
    const app = await buildApp({
      ...(https === undefined ? {} : { https }),
      metrics,
      logger,
      accounts,
      queries,
      store,
      timeTravel: new TimeTravel(store, readModel, (seq) => projector.waitFor(seq, config.readYourWritesTimeoutMs), clock),
      auditAnchor: () => projector.digestPosition,
      lastCheckpoint: () => projector.streamCheckpoint,
      authenticator,
      limiter: new FailedAuthLimiter(config.authFailuresPerMinute),
      usage,
      signer: gated,
      signingKeys,
      trustedKeys: () => trust.trustedKeys(),
      trustAnchor: anchor,
      clock,
      tokenTtlSeconds: config.tokenTtlSeconds,
      trustProxy: config.trustProxy,
      streamLimits: { perPrincipal: config.maxStreamsPerPrincipal, total: config.maxStreams },
      consoleFiles: loadConsoleFiles(),
      audits: auditAdmission(
        { perPrincipal: config.maxAuditRequestsPerPrincipal, total: config.maxAuditRequests },
        new AuditPacer(AUDIT_SHARE, { onWait: (ms) => metrics.auditWaited.inc(ms / 1000) }),
      ),
      readiness: () => {
        const { lag, streamLost } = projectionLag;
        const checks = {
          eventStore: connection.connected,
          readModel: projector.caughtUp,
          projectionLag: lag !== null && lag <= config.readyMaxLag,
          stream: streamLost === null,
          // Informational: a daemon whose key is pending serves reads and verifications.
          signingKeyTrusted: signs(),
        };
        const ready = checks.eventStore && checks.readModel && checks.projectionLag && checks.stream;
        return { ready, checks, lag, ...(streamLost === null ? {} : { problem: streamLost }) };
      },
    });
    stops.push({ name: "http", stop: () => app.close() });
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info({ url: address, dataDir, stream: config.stream }, "keyledger is listening");

    return {
      url: address,
      natsUrl,
      store,
      trust,
      signingKeys,
      signer,
      readModel,
      projector,
      scheduler,
      relay,
      checkpoints,
      accounts,
      authenticator,
      app,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
