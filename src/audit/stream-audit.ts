import { createHash } from "node:crypto";
import {
  advancePosition,
  CHECKPOINT_SUBJECT,
  checkpointBytes,
  decodeCheckpoint,
  decodeEnvelope,
  EVENT_SUBJECT_PREFIX,
  signedBytes,
  START_POSITION,
  type DigestPosition,
  type EventEnvelope,
  type PublicKeys,
  type RawMessage,
  type StreamCheckpoint,
} from "../events/index.js";
import { inThreadChecker, SignatureWorkerPool, type SignatureChecker, type SignatureJob } from "../signing/index.js";

export interface AuditProblem {
  /** Stream sequence of the message the problem shows at. */
  readonly seq: number;
  readonly reason: string;
}

export interface AuditReport {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Event messages checked (signature, hash and chain). */
  readonly checked: number;
  /** The stream's last sequence when the audit started: everything up to it was read. */
  readonly head: number;
  readonly problems: AuditProblem[];
  /** Whether more problems were found than `problems` lists. */
  readonly truncated: boolean;
  /** Checkpoints checked, and how many event messages the last good one covers. */
  readonly checkpoints: { readonly checked: number; readonly coveredEvents: number };
}

export interface AuditProgress {
  readonly seq: number;
  readonly head: number;
  readonly checked: number;
  readonly problems: number;
}

export interface AuditOptions {
  readonly keys: PublicKeys;
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
}

/** How far back a checkpoint may point behind the messages before it (a lagging projector). */
const CHECKPOINT_WINDOW = 100_000;
const BATCH = 1000;

/** A message read and hashed, its signature check under way. */
type Prepared =
  | {
      readonly kind: "event";
      readonly message: RawMessage;
      readonly event: EventEnvelope | null;
      readonly problem: string | null;
    }
  | {
      readonly kind: "checkpoint";
      readonly message: RawMessage;
      readonly checkpoint: StreamCheckpoint | null;
      readonly problem: string | null;
    }
  | { readonly kind: "other"; readonly message: RawMessage };

interface PreparedBatch {
  readonly items: Prepared[];
  /** For each item with a signature to check, its index in `items`, and the result. */
  readonly signed: number[];
  readonly verdicts: Promise<boolean[]>;
}

/**
 * Checks every event of a stream, in order: that it is readable, sits on its account's subject,
 * hashes to its `hash`, carries a signature of a registered daemon key, and follows the previous
 * event of its account (`prevHash`, `accountVersion`); and every checkpoint: authentic, following
 * the previous checkpoint, and matching the running digest of the event messages before it. Each
 * problem is reported with the sequence it shows at; after a broken link the chain is followed
 * from the event that broke it, so that one removal is one problem.
 *
 * Messages are read and hashed in batches while the signatures of the batch before are checked in
 * worker threads; the checks that depend on order then run batch by batch, in stream order.
 */
export async function auditStream(messages: AsyncIterable<RawMessage>, options: AuditOptions): Promise<AuditReport> {
  const checker: SignatureChecker = options.head >= (options.workersFrom ?? 20_000) ? new SignatureWorkerPool() : inThreadChecker;
  try {
    return await run(messages, options, checker);
  } finally {
    await checker.close();
  }
}

async function run(messages: AsyncIterable<RawMessage>, options: AuditOptions, checker: SignatureChecker): Promise<AuditReport> {
  const maxProblems = options.maxProblems ?? 1000;
  const problems: AuditProblem[] = [];
  let found = 0;
  const report = (seq: number, reason: string): void => {
    found += 1;
    if (problems.length < maxProblems) problems.push({ seq, reason });
  };

  const publicKeys = new Map<string, Uint8Array | null>();
  const publicKey = async (keyId: string): Promise<Uint8Array | null> => {
    let key = publicKeys.get(keyId);
    if (key === undefined) {
      key = await options.keys.publicKey(keyId);
      publicKeys.set(keyId, key);
    }
    return key;
  };

  /** Reads and hashes one batch, and starts checking its signatures. */
  const prepare = async (batch: RawMessage[]): Promise<PreparedBatch> => {
    const items: Prepared[] = [];
    const jobs: SignatureJob[] = [];
    const signed: number[] = [];
    const sign = (bytes: Uint8Array, keyId: string, signature: string, key: Uint8Array | null): string | null => {
      if (key === null) return `signing key ${keyId} is not registered`;
      signed.push(items.length);
      // Own-sized copies: a view into Buffer's shared pool would carry the whole pool to the worker.
      jobs.push({
        publicKey: key,
        message: new Uint8Array(bytes),
        signature: new Uint8Array(Buffer.from(signature, "base64url")),
      });
      return null;
    };
    for (const message of batch) {
      if (message.subject.startsWith(`${EVENT_SUBJECT_PREFIX}.`)) {
        let event: EventEnvelope | null = null;
        let problem: string | null;
        try {
          event = decodeEnvelope(message.data);
          const bytes = signedBytes(event);
          problem =
            `${EVENT_SUBJECT_PREFIX}.${event.accountId}` !== message.subject
              ? `event of ${String(event.accountId)} on subject ${message.subject}`
              : sha256(bytes) !== event.hash
                ? "hash does not match the event: the event was altered"
                : sign(bytes, event.signingKeyId, event.signature, await publicKey(event.signingKeyId));
        } catch (error) {
          problem = `not a readable event: ${error instanceof Error ? error.message : String(error)}`;
        }
        items.push({ kind: "event", message, event, problem });
      } else if (message.subject === CHECKPOINT_SUBJECT) {
        let checkpoint: StreamCheckpoint | null = null;
        let problem: string | null;
        try {
          checkpoint = decodeCheckpoint(message.data);
          const bytes = checkpointBytes(checkpoint);
          problem =
            sha256(bytes) !== checkpoint.hash
              ? "checkpoint hash does not match its content: the checkpoint was altered"
              : sign(bytes, checkpoint.signingKeyId, checkpoint.signature, await publicKey(checkpoint.signingKeyId));
        } catch {
          problem = "not a readable checkpoint";
        }
        items.push({ kind: "checkpoint", message, checkpoint, problem });
      } else {
        items.push({ kind: "other", message });
      }
    }
    return { items, signed, verdicts: checker.check(jobs) };
  };

  const heads = new Map<string, { hash: string; version: number }>();
  let position: DigestPosition = START_POSITION;
  const digests = new Map<number, string>([[0, START_POSITION.digest]]);
  let lastCheckpointHash: string | null = null;
  let checkpoints = 0;
  let coveredEvents = 0;
  let anchorSeen = false;

  const checkEvent = (message: RawMessage, event: EventEnvelope | null, problem: string | null): void => {
    position = advancePosition(position, message.seq, message.data);
    digests.set(position.count, position.digest);
    if (digests.size > CHECKPOINT_WINDOW) digests.delete(digests.keys().next().value as number);
    if (options.anchor !== undefined && position.count === options.anchor.count) {
      anchorSeen = true;
      if (position.digest !== options.anchor.digest)
        report(message.seq, "the stream no longer holds the event messages this daemon's read model was built from");
    }
    if (problem !== null || event === null) {
      report(message.seq, problem ?? "not a readable event");
      return;
    }
    const head = heads.get(event.accountId);
    if (event.prevHash !== (head?.hash ?? null) || event.accountVersion !== (head?.version ?? 0) + 1) {
      report(
        message.seq,
        `breaks the chain of ${event.accountId}: it follows version ${event.accountVersion - 1}, the last event seen is version ${head?.version ?? 0}; an event before it was removed, inserted or reordered`,
      );
    }
    heads.set(event.accountId, { hash: event.hash, version: event.accountVersion });
  };

  const checkCheckpoint = (message: RawMessage, checkpoint: StreamCheckpoint | null, problem: string | null): void => {
    if (problem !== null || checkpoint === null) {
      report(message.seq, problem ?? "not a readable checkpoint");
      return;
    }
    checkpoints += 1;
    if (checkpoint.prevHash !== lastCheckpointHash)
      report(message.seq, "checkpoint does not follow the previous checkpoint: a checkpoint was removed, inserted or reordered");
    lastCheckpointHash = checkpoint.hash;
    const digest = digests.get(checkpoint.eventCount);
    if (checkpoint.eventCount > position.count) {
      report(
        message.seq,
        `checkpoint covers ${checkpoint.eventCount} event messages, but only ${position.count} precede it: events were removed or reordered`,
      );
    } else if (digest === undefined) {
      report(message.seq, `checkpoint refers to event message ${checkpoint.eventCount}, too far behind it`);
    } else if (digest !== checkpoint.digest) {
      report(
        message.seq,
        `the first ${checkpoint.eventCount} event messages do not match this checkpoint's digest: an event before it was removed, inserted, altered or reordered`,
      );
    } else {
      coveredEvents = checkpoint.eventCount;
      for (const count of digests.keys()) {
        if (count >= checkpoint.eventCount) break;
        digests.delete(count);
      }
    }
  };

  let lastSeq = 0;
  /** The order-dependent checks of one batch, once its signatures are known. */
  const finish = async (batch: PreparedBatch): Promise<void> => {
    const verdicts = await batch.verdicts;
    const forged = new Set(batch.signed.filter((_, i) => !verdicts[i]));
    batch.items.forEach((item, i) => {
      lastSeq = item.message.seq;
      const problem = forged.has(i) ? `signature does not verify: the ${item.kind} was forged or altered` : null;
      if (item.kind === "event") checkEvent(item.message, item.event, item.problem ?? problem);
      else if (item.kind === "checkpoint") checkCheckpoint(item.message, item.checkpoint, item.problem ?? problem);
    });
    options.onProgress?.({ seq: lastSeq, head: options.head, checked: position.count, problems: found });
  };

  let pending: PreparedBatch | null = null;
  for await (const batch of batches(messages, BATCH)) {
    const prepared = await prepare(batch);
    if (pending !== null) await finish(pending);
    pending = prepared;
  }
  if (pending !== null) await finish(pending);

  if (lastSeq < options.head) report(lastSeq + 1, `the stream ended at sequence ${lastSeq}, before its head ${options.head}`);
  if (options.anchor !== undefined && !anchorSeen && options.anchor.count > 0) {
    report(
      options.anchor.seq,
      `the stream holds ${position.count} event messages, fewer than the ${options.anchor.count} this daemon's read model applied: events were removed`,
    );
  }
  return {
    ok: found === 0,
    checked: position.count,
    head: options.head,
    problems,
    truncated: found > problems.length,
    checkpoints: { checked: checkpoints, coveredEvents },
  };
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
