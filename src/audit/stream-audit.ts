import { createHash } from "node:crypto";
import {
  advancePosition,
  CHECKPOINT_SUBJECT,
  checkpointBytes,
  decodeCheckpoint,
  decodeEnvelope,
  isEventSubject,
  KEYS_SUBJECT,
  signedBytes,
  START_POSITION,
  type DigestPosition,
  type EventEnvelope,
  type RawMessage,
  type StreamCheckpoint,
} from "../format/index.js";
import { inThreadChecker, SignatureWorkerPool, type SignatureChecker, type SignatureJob } from "../signing/index.js";
import { signerAt, type FoldedTrust, type StatementRecord } from "../trust/index.js";
import { type AuditProblem, type ProblemCode, ProblemList } from "./problems.js";

export type { AuditProblem, ProblemCode } from "./problems.js";

export interface AuditReport {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Event messages checked (signature, hash and chain). */
  readonly checked: number;
  /** The stream's last sequence when the audit started: everything up to it was read. */
  readonly head: number;
  /** The key id the ledger's genesis enrols as its trust anchor (null: none that counts). */
  readonly anchor: string | null;
  /** The anchor the audit was told to expect, if any. */
  readonly pinnedAnchor: string | null;
  readonly problems: AuditProblem[];
  /** Whether more problems were found than `problems` lists. */
  readonly truncated: boolean;
  /** Checkpoints checked, and how many event messages the last good one covers. */
  readonly checkpoints: { readonly checked: number; readonly coveredEvents: number };
  /** Key statements read, and how many of them count. */
  readonly statements: { readonly checked: number; readonly counted: number };
}

export interface AuditProgress {
  readonly seq: number;
  readonly head: number;
  readonly checked: number;
  readonly problems: number;
}

export interface AuditOptions {
  /**
   * The ledger's key statements, folded from the stream itself before the audit (`foldStatements`),
   * against the pinned anchor when there is one: only keys they trust at a message's sequence count.
   */
  readonly trust: FoldedTrust;
  readonly pinnedAnchor?: string;
  /** The stream head (last sequence) the messages run to. */
  readonly head: number;
  /**
   * What a read model built from this stream has seen: the stream must still hold those event
   * messages, unchanged (a removal at the very end shows only here or in a later checkpoint).
   */
  readonly anchor?: DigestPosition;
  readonly onProgress?: (progress: AuditProgress) => void;
  readonly maxProblems?: number;
  /** Signature checks in worker threads from this many messages on (default 20,000). */
  readonly workersFrom?: number;
  /**
   * Run as background work beside a daemon's requests: the signature workers at the lowest
   * scheduling priority (they take only the CPU nothing else wants), and the reading and hashing
   * in short steps, so that a request is never queued behind more than one of them.
   */
  readonly background?: boolean;
  /**
   * Called in the background every few messages with the milliseconds of work since the last call:
   * the daemon's budget for audit work, which may make the audit wait (default: a turn of the
   * event loop).
   */
  readonly pace?: (workedMs: number) => Promise<void>;
  /**
   * Whether the messages are the whole stream up to `head` (default), so that ending before it is
   * `stream_truncated`; false for an evidence bundle, which leaves name claims out and whose seal
   * tells where it ends.
   */
  readonly wholeStream?: boolean;
  /** Stops the audit (it then throws AuditStopped): its caller went away, or the daemon is stopping. */
  readonly signal?: AbortSignal;
}

/** The audit was stopped before its end (`AuditOptions.signal`). */
export class AuditStopped extends Error {
  constructor() {
    super("the audit was stopped before its end");
    this.name = "AuditStopped";
  }
}

/** A turn of the event loop: what a background audit waits between its steps when nobody paces it. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How far back a checkpoint may point behind the messages before it (a lagging projector). */
const CHECKPOINT_WINDOW = 100_000;
const BATCH = 1000;
/** In the background, the messages read and hashed between two turns of the event loop. */
const STEP = 50;

/** A message read and hashed, its signature check under way. */
type Prepared =
  | { readonly kind: "event"; readonly message: RawMessage; readonly event: EventEnvelope | null; readonly problem: Found | null }
  | {
      readonly kind: "checkpoint";
      readonly message: RawMessage;
      readonly checkpoint: StreamCheckpoint | null;
      readonly problem: Found | null;
    }
  | { readonly kind: "statement"; readonly message: RawMessage; readonly problem: Found | null }
  | { readonly kind: "other"; readonly message: RawMessage };

type Found = Omit<AuditProblem, "seq">;

interface PreparedBatch {
  readonly items: Prepared[];
  /** For each item with a signature to check, its index in `items`, and the result. */
  readonly signed: number[];
  readonly verdicts: Promise<boolean[]>;
}

/**
 * Checks every message of a stream, in order. Each event: readable, on its account's subject,
 * hashing to its `hash`, signed by a key the ledger's own statements trusted at its sequence, and
 * following the previous event of its account (`prevHash`, `accountVersion`). Each checkpoint:
 * authentic the same way, following the previous checkpoint, and matching the running digest of
 * the event messages before it. Each key statement: as `foldStatements` judged it. Every problem is
 * reported with the sequence it shows at and a code; after a broken link the chain is followed from
 * the event that broke it, so that one removal is one problem.
 *
 * Messages are read and hashed in batches while the signatures of the batch before are checked in
 * worker threads; the checks that depend on order then run batch by batch, in stream order.
 */
export async function auditStream(messages: AsyncIterable<RawMessage>, options: AuditOptions): Promise<AuditReport> {
  const checker: SignatureChecker =
    options.head >= (options.workersFrom ?? 20_000)
      ? new SignatureWorkerPool(undefined, { background: options.background === true })
      : inThreadChecker;
  try {
    return await new StreamAudit(options, checker).run(messages);
  } finally {
    await checker.close();
  }
}

class StreamAudit {
  private readonly problems: ProblemList;
  private readonly statements: ReadonlyMap<number, StatementRecord>;
  /** Each account's last event seen: the next one must follow it. */
  private readonly heads = new Map<string, { hash: string; version: number }>();
  private position: DigestPosition = START_POSITION;
  /** The running digest after each count of event messages, as far back as a checkpoint may point. */
  private readonly digests = new Map<number, string>([[0, START_POSITION.digest]]);
  private lastCheckpointHash: string | null = null;
  private checkpoints = 0;
  private coveredEvents = 0;
  private anchorSeen = false;
  private lastSeq = 0;

  constructor(
    private readonly options: AuditOptions,
    private readonly checker: SignatureChecker,
  ) {
    this.problems = new ProblemList(options.maxProblems ?? 1000);
    this.statements = new Map(options.trust.records.map((record) => [record.seq, record]));
  }

  async run(messages: AsyncIterable<RawMessage>): Promise<AuditReport> {
    // Batches whose signatures are being checked while the next one is read: with worker threads,
    // one more than there are workers, so that no worker waits for the main thread between batches.
    const depth = this.checker === inThreadChecker ? 1 : 3;
    const pending: PreparedBatch[] = [];
    for await (const batch of batches(messages, BATCH)) {
      if (this.options.signal?.aborted === true) throw new AuditStopped();
      pending.push(await this.prepare(batch));
      if (pending.length > depth) await this.finish(pending.shift()!);
    }
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) await this.finish(next);
    return this.summary();
  }

  /** Reads and hashes one batch, checks whose keys signed it, and starts checking the signatures. */
  private async prepare(batch: RawMessage[]): Promise<PreparedBatch> {
    const items: Prepared[] = [];
    const jobs: SignatureJob[] = [];
    const signed: number[] = [];
    const sign = (seq: number, bytes: Uint8Array, keyId: string, signature: string): Found | null => {
      const signer = signerAt(this.options.trust.state, keyId, seq);
      if ("code" in signer) return { code: signer.code, reason: signer.reason, kid: signer.kid };
      signed.push(items.length);
      // Own-sized copies: a view into Buffer's shared pool would carry the whole pool to the worker.
      jobs.push({
        publicKey: signer.publicKey,
        message: new Uint8Array(bytes),
        signature: new Uint8Array(Buffer.from(signature, "base64url")),
      });
      return null;
    };
    let stepStarted = performance.now();
    for (const [index, message] of batch.entries()) {
      // In the background, the event loop gets a turn every few messages (a millisecond or so of work).
      if (this.options.background === true && index % STEP === STEP - 1) {
        await (this.options.pace ?? nextTurn)(performance.now() - stepStarted);
        stepStarted = performance.now();
      }
      if (isEventSubject(message.subject)) {
        let event: EventEnvelope | null = null;
        let problem: Found | null;
        try {
          event = decodeEnvelope(message.data);
          const bytes = signedBytes(event);
          problem =
            `kl.acct.${event.accountId}` !== message.subject
              ? { code: "wrong_subject", reason: `event of ${String(event.accountId)} on subject ${message.subject}` }
              : sha256(bytes) !== event.hash
                ? { code: "hash_mismatch", reason: "hash does not match the event: the event was altered" }
                : sign(message.seq, bytes, event.signingKeyId, event.signature);
        } catch (error) {
          problem = {
            code: "unreadable",
            reason: `not a readable event: ${error instanceof Error ? error.message : String(error)}`,
          };
        }
        items.push({ kind: "event", message, event, problem });
      } else if (message.subject === CHECKPOINT_SUBJECT) {
        let checkpoint: StreamCheckpoint | null = null;
        let problem: Found | null;
        try {
          checkpoint = decodeCheckpoint(message.data);
          const bytes = checkpointBytes(checkpoint);
          problem =
            sha256(bytes) !== checkpoint.hash
              ? { code: "hash_mismatch", reason: "checkpoint hash does not match its content: the checkpoint was altered" }
              : sign(message.seq, bytes, checkpoint.signingKeyId, checkpoint.signature);
        } catch {
          problem = { code: "unreadable", reason: "not a readable checkpoint" };
        }
        items.push({ kind: "checkpoint", message, checkpoint, problem });
      } else if (message.subject === KEYS_SUBJECT) {
        const record = this.statements.get(message.seq);
        const problem: Found | null =
          record === undefined
            ? { code: "statement_unread", reason: "a key statement that appeared after the trust root was read" }
            : record.problem === null
              ? null
              : { ...record.problem, reason: `key statement: ${record.problem.reason}` };
        items.push({ kind: "statement", message, problem });
      } else {
        items.push({ kind: "other", message });
      }
    }
    const verdicts = this.checker.check(jobs);
    // Awaited only when its turn comes: a worker's failure must not count as unhandled before then.
    verdicts.catch(() => undefined);
    return { items, signed, verdicts };
  }

  /** The order-dependent checks of one batch, once its signatures are known. */
  private async finish(batch: PreparedBatch): Promise<void> {
    const verdicts = await batch.verdicts;
    const forged = new Set(batch.signed.filter((_, i) => !verdicts[i]));
    batch.items.forEach((item, i) => {
      this.lastSeq = item.message.seq;
      const badSignature: Found | null = forged.has(i)
        ? { code: "bad_signature", reason: `signature does not verify: the ${item.kind} was forged or altered` }
        : null;
      if (item.kind === "event") this.checkEvent(item.message, item.event, item.problem ?? badSignature);
      else if (item.kind === "checkpoint") this.checkCheckpoint(item.message, item.checkpoint, item.problem ?? badSignature);
      else if (item.kind === "statement" && item.problem !== null) this.report(item.message.seq, item.problem);
    });
    this.options.onProgress?.({
      seq: this.lastSeq,
      head: this.options.head,
      checked: this.position.count,
      problems: this.problems.found,
    });
  }

  private report(seq: number, found: Found): void {
    this.problems.add({ seq, ...found });
  }

  private problem(seq: number, code: ProblemCode, reason: string): void {
    this.problems.add({ seq, code, reason });
  }

  private checkEvent(message: RawMessage, event: EventEnvelope | null, problem: Found | null): void {
    this.position = advancePosition(this.position, message.seq, message.data);
    this.digests.set(this.position.count, this.position.digest);
    if (this.digests.size > CHECKPOINT_WINDOW) this.digests.delete(this.digests.keys().next().value as number);
    const anchor = this.options.anchor;
    if (anchor !== undefined && this.position.count === anchor.count) {
      this.anchorSeen = true;
      if (this.position.digest !== anchor.digest)
        this.problem(
          message.seq,
          "read_model_mismatch",
          "the stream no longer holds the event messages this daemon's read model was built from",
        );
    }
    if (problem !== null || event === null) {
      this.report(message.seq, problem ?? { code: "unreadable", reason: "not a readable event" });
      return;
    }
    const head = this.heads.get(event.accountId);
    if (event.prevHash !== (head?.hash ?? null) || event.accountVersion !== (head?.version ?? 0) + 1) {
      this.problem(
        message.seq,
        "chain_broken",
        `breaks the chain of ${event.accountId}: it follows version ${event.accountVersion - 1}, the last event seen is version ${head?.version ?? 0}; an event before it was removed, inserted or reordered`,
      );
    }
    this.heads.set(event.accountId, { hash: event.hash, version: event.accountVersion });
  }

  private checkCheckpoint(message: RawMessage, checkpoint: StreamCheckpoint | null, problem: Found | null): void {
    if (problem !== null || checkpoint === null) {
      this.report(message.seq, problem ?? { code: "unreadable", reason: "not a readable checkpoint" });
      return;
    }
    this.checkpoints += 1;
    const keys = checkpoint.keys;
    if (keys !== undefined && keys !== null) {
      const record = this.statements.get(keys.seq);
      const named = record?.problem === null ? record.statement : null;
      if (
        named === null ||
        named === undefined ||
        named.version !== keys.version ||
        named.hash !== keys.hash ||
        keys.seq >= message.seq
      )
        this.problem(
          message.seq,
          "checkpoint_keys_mismatch",
          `checkpoint names key statement version ${keys.version} at sequence ${keys.seq}, which the stream does not hold there: a key statement was removed, inserted or altered`,
        );
    }
    if (checkpoint.prevHash !== this.lastCheckpointHash)
      this.problem(
        message.seq,
        "checkpoint_chain_broken",
        "checkpoint does not follow the previous checkpoint: a checkpoint was removed, inserted or reordered",
      );
    this.lastCheckpointHash = checkpoint.hash;
    const digest = this.digests.get(checkpoint.eventCount);
    if (checkpoint.eventCount > this.position.count) {
      this.problem(
        message.seq,
        "checkpoint_digest_mismatch",
        `checkpoint covers ${checkpoint.eventCount} event messages, but only ${this.position.count} precede it: events were removed or reordered`,
      );
    } else if (digest === undefined) {
      this.problem(
        message.seq,
        "checkpoint_out_of_reach",
        `checkpoint refers to event message ${checkpoint.eventCount}, too far behind it`,
      );
    } else if (digest !== checkpoint.digest) {
      this.problem(
        message.seq,
        "checkpoint_digest_mismatch",
        `the first ${checkpoint.eventCount} event messages do not match this checkpoint's digest: an event before it was removed, inserted, altered or reordered`,
      );
    } else {
      this.coveredEvents = checkpoint.eventCount;
      for (const count of this.digests.keys()) {
        if (count >= checkpoint.eventCount) break;
        this.digests.delete(count);
      }
    }
  }

  private summary(): AuditReport {
    const { head, anchor, trust, pinnedAnchor } = this.options;
    if (this.lastSeq < head && this.options.wholeStream !== false)
      this.problem(this.lastSeq + 1, "stream_truncated", `the stream ended at sequence ${this.lastSeq}, before its head ${head}`);
    if (anchor !== undefined && !this.anchorSeen && anchor.count > 0) {
      this.problem(
        anchor.seq,
        "read_model_mismatch",
        `the stream holds ${this.position.count} event messages, fewer than the ${anchor.count} this daemon's read model applied: events were removed`,
      );
    }
    if (
      trust.state.anchor === null &&
      this.position.count > 0 &&
      !trust.records.some((record) => record.problem?.code === "anchor_mismatch")
    )
      this.problem(0, "no_trust_anchor", "the stream holds no genesis statement: no signing key counts, so no event does");
    return {
      ok: this.problems.found === 0,
      checked: this.position.count,
      head,
      anchor: trust.state.anchor,
      pinnedAnchor: pinnedAnchor ?? null,
      problems: this.problems.sorted(),
      truncated: this.problems.truncated,
      checkpoints: { checked: this.checkpoints, coveredEvents: this.coveredEvents },
      statements: { checked: trust.records.length, counted: trust.records.filter((record) => record.problem === null).length },
    };
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
