import type { ConsoleFiles } from "./console-files.js";
import type { Logger } from "pino";
import type { ServiceAccounts, SigningKeys } from "../application/index.js";
import type { Authenticator, FailedAuthLimiter, UsageTracker } from "../auth/index.js";
import type { JetStreamEventStore } from "../events/index.js";
import type { DigestPosition } from "../format/index.js";
import type { CheckpointHead, Queries, TimeTravel } from "../projections/index.js";
import type { Signer } from "../signing/index.js";

import type { Metrics } from "../metrics/index.js";
import type { AuditAdmission } from "./audit-admission.js";

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
  /** Stream sequences the read model is behind the stream (null: not known yet). */
  readonly lag?: number | null;
  /** What is wrong, in a sentence, when the daemon knows (a lost stream). */
  readonly problem?: string;
}

/** Everything the HTTP API needs, injected by the daemon (or by a test). */
export interface AppDeps {
  readonly logger: Logger;
  readonly accounts: ServiceAccounts;
  readonly queries: Queries;
  /** The stream itself: history, the live tail and the audit read it. */
  readonly store: JetStreamEventStore;
  readonly timeTravel: TimeTravel;
  /** What this daemon's read model has applied, with the running digest: an audit's anchor. */
  readonly auditAnchor: () => DigestPosition;
  /** The last authentic stream checkpoint the read model passed (null: none yet). */
  readonly lastCheckpoint: () => CheckpointHead | null;
  readonly authenticator: Authenticator;
  readonly limiter: FailedAuthLimiter;
  readonly usage: UsageTracker;
  /** This daemon's signer: it refuses to sign while the ledger does not trust its key. */
  readonly signer: Signer;
  /** The trust root: the keys that count now (JWKS), and the approvals and revocations of keys. */
  readonly signingKeys: SigningKeys;
  readonly trustedKeys: () => ReadonlyArray<{ readonly kid: string; readonly publicKey: Uint8Array }>;
  /** The trust anchor this daemon pinned: an audit expects it unless told another. */
  readonly trustAnchor: string;
  readonly clock: () => Date;
  readonly tokenTtlSeconds: number;
  readonly readiness: () => Readiness;
  readonly trustProxy: false | number | string[];
  /** The certificate and key to serve HTTPS with; plain HTTP without them. */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
  /** Caps on audit requests running at once (asOf reads, state, diff, verify, export): per service account, and for the daemon. */
  readonly audits: AuditAdmission;
  /** Caps on live event streams (`/v1/events/stream`): per service account, and for the daemon. */
  readonly streamLimits: { readonly perPrincipal: number; readonly total: number };
  /** The web console's built files (null: not built, `/console` says so). */
  readonly consoleFiles?: ConsoleFiles | null;
  /** Prometheus metrics; without them (some tests) `/metrics` answers 404 and nothing is counted. */
  readonly metrics?: Metrics;
}
