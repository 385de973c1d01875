/**
 * The resources of keyledger's HTTP API, version 1, as a client sees them. Plain types with no
 * runtime dependency, so that the SDK runs in any JavaScript runtime.
 */
export type Role = "admin" | "auditor" | "verifier";

export interface ServiceAccount {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly active: boolean;
  readonly roles: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly active: boolean;
  readonly serviceAccountId: string;
  readonly hint: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastRotatedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly retainedUntil: string | null;
}

/** A key as answered by create and rotate: the only time its secret is shown. */
export interface ApiKeyWithSecret extends ApiKey {
  readonly key: string;
}

export interface ServiceAccountWithKeys extends ServiceAccount {
  readonly apiKeys: ApiKey[];
}

export interface CreateServiceAccountBody {
  readonly name: string;
  readonly description?: string;
  readonly roles?: Role[];
  readonly active?: boolean;
  readonly createApiKey?: boolean;
}

export interface UpdateServiceAccountBody {
  readonly name?: string;
  readonly description?: string;
  readonly active?: boolean;
  readonly roles?: Role[];
}

export interface CreateApiKeyBody {
  readonly name: string;
  readonly description?: string;
  readonly expiresAt?: string | null;
}

export interface UpdateApiKeyBody {
  readonly name?: string;
  readonly description?: string;
  readonly active?: boolean;
  readonly expiresAt?: string | null;
}

export interface ListServiceAccountsQuery {
  readonly active?: boolean;
  readonly name?: string;
  readonly limit?: number;
  readonly cursor?: string;
  /** The accounts as they were at this point in history (see `AsOf`). */
  readonly asOf?: AsOf;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
  /** Present when the listing was asked `asOf` a point in history: the point it was resolved to. */
  readonly asOf?: PointInTime;
}

export interface Whoami {
  readonly serviceAccount: ServiceAccount;
  readonly apiKey: ApiKey;
  readonly credential: "current" | "retained" | "token";
}

export type VerifyResult =
  | {
      readonly valid: true;
      readonly serviceAccount: { readonly id: string; readonly name: string; readonly roles: string[] };
      /** `expiresAt`: when the key stops working by itself (null: never); older daemons leave it out. */
      readonly apiKey: { readonly id: string; readonly name: string; readonly expiresAt?: string | null };
      readonly credential: "current" | "retained";
    }
  | { readonly valid: false; readonly code: string };

export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly expiresAt: string;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}

/**
 * A point in history: an ISO-8601 instant with its zone (`2030-01-31T12:00:00Z`) or a `Date`, or a
 * stream sequence (the state right after that event).
 */
export type AsOf = string | number | Date;

/** A point in history as the API resolved it: the last sequence it includes and the instant states were judged at. */
export interface PointInTime {
  readonly seq: number;
  readonly at: string;
}

export type KeyStatus = "active" | "inactive" | "expired" | "deleted";

/** An API key as it was at a point in history, with the status it had then. */
export interface ApiKeyAsOf extends ApiKey {
  readonly status: KeyStatus;
  /** The previous secret after a rotation: still accepted (`retained`), no longer (`expired`), or none. */
  readonly previousSecret: "retained" | "expired" | null;
}

export interface ServiceAccountAsOf extends ServiceAccount {
  readonly apiKeys: ApiKeyAsOf[];
}

/** `GET /v1/service-accounts/:account?asOf=`: the account then, with the point it was resolved to. */
export interface ServiceAccountAsOfAt extends ServiceAccountAsOf {
  readonly asOf: PointInTime;
}

/** Every account and its keys as they were at a point in history (all pages of `GET /v1/audit/state`). */
export interface AuditState {
  readonly asOf: PointInTime;
  readonly serviceAccounts: ServiceAccountAsOf[];
}

/** `GET /v1/audit/state`: one page of the accounts and their keys as they were at a point in history. */
export interface AuditStatePage extends AuditState {
  readonly nextCursor: string | null;
}

export type Change = "created" | "deleted" | "changed";

/** One account's change between two points: its states there (null where it was not live) and its keys' changes. */
export interface AccountChange {
  readonly id: string;
  readonly name: string;
  readonly change: Change;
  readonly before: ServiceAccount | null;
  readonly after: ServiceAccount | null;
  readonly keys: Array<{
    readonly id: string;
    readonly name: string;
    readonly change: Change;
    readonly before: ApiKeyAsOf | null;
    readonly after: ApiKeyAsOf | null;
  }>;
}

/** What changed between two points (all pages of `GET /v1/audit/diff`). */
export interface AuditDiff {
  readonly from: PointInTime;
  readonly to: PointInTime;
  readonly accounts: AccountChange[];
  /** Events applied after `from` up to `to`. */
  readonly events: number;
}

/** `GET /v1/audit/diff`: one page of the accounts that changed between two points. */
export interface AuditDiffPage extends AuditDiff {
  readonly nextCursor: string | null;
}

/** What each type of event says, as the stream stores it (secrets are never in it: only their hashes). */
export interface EventDataByType {
  readonly ServiceAccountCreated: {
    readonly name: string;
    readonly description: string;
    readonly roles: readonly string[];
    readonly active: boolean;
  };
  readonly ServiceAccountUpdated: { readonly name?: string; readonly description?: string; readonly roles?: readonly string[] };
  readonly ServiceAccountDeactivated: Record<string, never>;
  readonly ServiceAccountActivated: Record<string, never>;
  readonly ServiceAccountDeleted: Record<string, never>;
  readonly ApiKeyCreated: {
    readonly keyId: string;
    readonly name: string;
    readonly description: string;
    readonly expiresAt: string | null;
    readonly secretHash: string;
    readonly hint: string;
  };
  readonly ApiKeyUpdated: {
    readonly keyId: string;
    readonly name?: string;
    readonly description?: string;
    readonly expiresAt?: string | null;
  };
  readonly ApiKeyRotated: {
    readonly keyId: string;
    readonly secretHash: string;
    readonly hint: string;
    readonly generation: number;
    readonly retainedUntil: string | null;
  };
  readonly ApiKeyRetentionExpired: {
    readonly keyId: string;
    readonly generation: number;
    readonly reason: "deadline" | "superseded";
  };
  readonly ApiKeyDeactivated: { readonly keyId: string };
  readonly ApiKeyActivated: { readonly keyId: string };
  readonly ApiKeyDeleted: { readonly keyId: string };
}

export type EventType = keyof EventDataByType;

/** Who caused an event: a credential of a service account, or keyledger itself. */
export type EventActor =
  | { readonly kind: "service_account"; readonly serviceAccountId: string; readonly apiKeyId: string }
  | { readonly kind: "system"; readonly reason: string };

interface EnvelopeOf<T extends EventType> {
  /** The stream sequence: the event's global position, and the `after` to resume after it. */
  readonly seq: number;
  readonly id: string;
  readonly type: T;
  readonly schemaVersion: number;
  readonly accountId: string;
  readonly occurredAt: string;
  readonly actor: EventActor;
  readonly requestId: string | null;
  readonly data: EventDataByType[T];
  readonly accountVersion: number;
  readonly prevHash: string | null;
  readonly hash: string;
  readonly signingKeyId: string;
  readonly signature: string;
}

/** A signed event as the stream holds it, with its stream sequence; `type` tells what `data` holds. */
export type EventEnvelope = { [T in EventType]: EnvelopeOf<T> }[EventType];

export interface ListEventsQuery {
  /** Only events after this stream sequence (default 0: from the first). */
  readonly after?: number;
  /** Events per page, 1 to 1000 (the API's default is 100). */
  readonly limit?: number;
  /** Only the events of one service account, by id or by its current name. */
  readonly account?: string;
  readonly type?: EventType;
}

/** A page of history. `next` non-null means ask again with `after: next` (a page may be empty and still have a `next`). */
export interface EventPage {
  readonly items: EventEnvelope[];
  readonly next: number | null;
}

export interface FollowEventsOptions {
  /** Start after this stream sequence; without it (and without `lastEventId`) only events from now on. */
  readonly after?: number;
  /** Resume after the event with this SSE id (a stream sequence); wins over `after`. */
  readonly lastEventId?: string | number;
  readonly account?: string;
  readonly type?: EventType;
  /** Ends the iteration (quietly) when aborted. */
  readonly signal?: AbortSignal;
  /** A connection that stays silent this long (the API sends a heartbeat every 15 s) is dropped and made again. Default 45 s. */
  readonly idleTimeoutMs?: number;
  /** Longest wait between two attempts to reconnect. Default 30 s. */
  readonly maxRetryDelayMs?: number;
  /** Told before each wait to reconnect after the connection dropped. */
  readonly onReconnect?: (info: ReconnectInfo) => void;
}

export interface ReconnectInfo {
  /** 1 for the first attempt after a drop, then 2, 3, … until one connects. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Why the connection ended, without any credential. */
  readonly reason: string;
  /** The stream sequence the next connection resumes after, or null when no event arrived yet. */
  readonly lastEventId: string | null;
}

export interface AuditProblem {
  readonly seq: number;
  /** What kind of problem (`untrusted_signer`, `bad_signature`, `chain_broken`, `hash_mismatch`, …). */
  readonly code: string;
  readonly reason: string;
  /** The signing key concerned: the untrusted signer, the key a statement names. */
  readonly kid?: string;
  /** In an evidence bundle checked offline: the line at fault (from 1). */
  readonly line?: number;
}

export interface AuditReport {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Event messages checked (signature, hash and chain). */
  readonly checked: number;
  /** The stream's last sequence when the audit started. */
  readonly head: number;
  /** The key id the ledger's genesis enrols as its trust anchor (null: none that counts). */
  readonly anchor: string | null;
  /** The anchor the audit held the ledger to (the daemon's own pin, or the one asked for). */
  readonly pinnedAnchor: string | null;
  readonly problems: AuditProblem[];
  /** Whether more problems were found than `problems` lists. */
  readonly truncated: boolean;
  readonly checkpoints: { readonly checked: number; readonly coveredEvents: number };
  /** Signing key statements read, and how many of them count. */
  readonly statements: { readonly checked: number; readonly counted: number };
}

/** `GET /v1/audit/checkpoint`: the last signed checkpoint the daemon's read model passed. */
export interface StreamCheckpoint {
  readonly seq: number;
  /** The last event message it covers. */
  readonly upToSeq: number;
  readonly eventCount: number;
  readonly hash: string;
}

/** A signing key of the ledger's trust root (`GET /v1/signing-keys`). */
export interface SigningKey {
  readonly kid: string;
  readonly status: "trusted" | "pending" | "revoked";
  /** Whether it is the ledger's trust anchor (the key its genesis enrols). */
  readonly anchor: boolean;
  /** The raw Ed25519 public key, base64url; null for a pending key known only by its signatures. */
  readonly publicKey: string | null;
  readonly enrolledAtSeq: number | null;
  /** The key that signed the enrolment. */
  readonly enrolledBy: string | null;
  readonly approvedBy: unknown;
  /** Trusted also for what it signed before the genesis (a stream written before the trust root). */
  readonly legacyHistory: boolean;
  readonly revokedAtSeq: number | null;
  readonly revokedBy: string | null;
  readonly reason: string | null;
  /** Events before the genesis that it signed and the answering daemon's read model passed over. */
  readonly legacyEvents: number;
}

export interface SigningKeyList {
  readonly anchor: string | null;
  readonly items: SigningKey[];
}

export interface AuditProgress {
  /** The stream sequence reached. */
  readonly seq: number;
  readonly head: number;
  /** Event messages checked so far. */
  readonly checked: number;
  /** Problems found so far. */
  readonly problems: number;
}

export interface VerifyAuditOptions {
  /** How many problems the report lists at most (the API's default is 1000). */
  readonly maxProblems?: number;
  /** The trust anchor the ledger must have (default: the one the daemon pinned). */
  readonly anchor?: string;
  /**
   * Called as the audit goes (the answer is then NDJSON, and the client's timeout applies between two
   * lines rather than to the whole audit, which may take minutes on a long stream).
   */
  readonly onProgress?: (progress: AuditProgress) => void;
  readonly signal?: AbortSignal;
}

/** The first line of an evidence bundle (`GET /v1/audit/export`; docs/evidence-bundle.md). */
export interface EvidenceBundleHeader {
  readonly format: "keyledger-evidence";
  readonly version: number;
  readonly stream: string;
  /** The stream's last sequence when the export started. */
  readonly head: number;
  readonly anchor: string | null;
  readonly exportedAt: string;
}

/** The last line of an evidence bundle: what the lines add up to, signed by the exporting daemon. */
export interface EvidenceBundleSeal {
  readonly head: number;
  readonly eventCount: number;
  readonly digest: string;
  readonly statements: number;
  readonly checkpoints: number;
  /** Null (and `signature` too) when the daemon's key was not trusted: an unsealed bundle. */
  readonly signingKeyId: string | null;
  readonly signature: string | null;
}

/** An evidence bundle on its way: its header, then its bytes as they arrive. */
export interface EvidenceExport {
  readonly header: EvidenceBundleHeader;
  /** The file name the daemon proposes (`keyledger-<stream>-<head>.ndjson`). */
  readonly filename: string | null;
  /**
   * The bundle's bytes, header line first, exactly as sent (write them to a file as they come).
   * Throws at the end when the bundle has no seal (the export failed or the connection broke): keep
   * the bytes only when the iteration finished.
   */
  chunks(): AsyncGenerator<Uint8Array, void, undefined>;
  /** The seal, once `chunks()` has run to its end (null before). */
  readonly seal: EvidenceBundleSeal | null;
}

export interface ExportAuditOptions {
  readonly signal?: AbortSignal;
}
