import {
  advancePosition,
  checkpointProblem,
  decodeCheckpoint,
  decodeEnvelope,
  EVENT_SUBJECT_PREFIX,
  CHECKPOINT_SUBJECT,
  hashProblem,
  signatureProblem,
  START_POSITION,
  type DigestPosition,
  type EventEnvelope,
  type PublicKeys,
  type RawMessage,
} from "../events/index.js";

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
  readonly progressEvery?: number;
  readonly maxProblems?: number;
}

/** How far back a checkpoint may point behind the messages before it (a lagging projector). */
const CHECKPOINT_WINDOW = 100_000;

/**
 * Checks every event of a stream, in order: that it is readable, sits on its account's subject,
 * hashes to its `hash`, carries a signature of a registered daemon key, and follows the previous
 * event of its account (`prevHash`, `accountVersion`); and every checkpoint: authentic, following
 * the previous checkpoint, and matching the running digest of the event messages before it. Each
 * problem is reported with the sequence it shows at; after a broken link the chain is followed
 * from the event that broke it, so that one removal is one problem.
 */
export async function auditStream(messages: AsyncIterable<RawMessage>, options: AuditOptions): Promise<AuditReport> {
  const maxProblems = options.maxProblems ?? 1000;
  const problems: AuditProblem[] = [];
  let found = 0;
  const report = (seq: number, reason: string): void => {
    found += 1;
    if (problems.length < maxProblems) problems.push({ seq, reason });
  };

  const heads = new Map<string, { hash: string; version: number }>();
  const publicKeys = new Map<string, Uint8Array | null>();
  const publicKey = async (keyId: string): Promise<Uint8Array | null> => {
    let key = publicKeys.get(keyId);
    if (key === undefined) {
      key = await options.keys.publicKey(keyId);
      publicKeys.set(keyId, key);
    }
    return key;
  };

  let position: DigestPosition = START_POSITION;
  const digests = new Map<number, string>([[0, START_POSITION.digest]]);
  let lastCheckpointHash: string | null = null;
  let checkpoints = 0;
  let coveredEvents = 0;
  let anchorSeen = false;
  const progressEvery = options.progressEvery ?? 10_000;
  let sinceProgress = 0;

  const checkEvent = async (message: RawMessage): Promise<void> => {
    position = advancePosition(position, message.seq, message.data);
    digests.set(position.count, position.digest);
    if (digests.size > CHECKPOINT_WINDOW) digests.delete(digests.keys().next().value as number);
    if (options.anchor !== undefined && position.count === options.anchor.count) {
      anchorSeen = true;
      if (position.digest !== options.anchor.digest)
        report(message.seq, "the stream no longer holds the event messages this daemon's read model was built from");
    }
    let event: EventEnvelope;
    try {
      event = decodeEnvelope(message.data);
    } catch (error) {
      report(message.seq, `not a readable event: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (`${EVENT_SUBJECT_PREFIX}.${event.accountId}` !== message.subject) {
      report(message.seq, `event of ${String(event.accountId)} on subject ${message.subject}`);
      return;
    }
    const authenticity = hashProblem(event) ?? signatureProblem(event, await publicKey(event.signingKeyId));
    if (authenticity !== null) {
      report(message.seq, `${authenticity}: the event was forged or altered`);
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

  const checkCheckpoint = async (message: RawMessage): Promise<void> => {
    let checkpoint;
    try {
      checkpoint = decodeCheckpoint(message.data);
    } catch {
      report(message.seq, "not a readable checkpoint");
      return;
    }
    const authenticity = checkpointProblem(checkpoint, await publicKey(checkpoint.signingKeyId));
    if (authenticity !== null) {
      report(message.seq, `${authenticity}: the checkpoint was forged or altered`);
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
  for await (const message of messages) {
    lastSeq = message.seq;
    if (message.subject.startsWith(`${EVENT_SUBJECT_PREFIX}.`)) await checkEvent(message);
    else if (message.subject === CHECKPOINT_SUBJECT) await checkCheckpoint(message);
    if (options.onProgress !== undefined && ++sinceProgress >= progressEvery) {
      sinceProgress = 0;
      options.onProgress({ seq: message.seq, head: options.head, checked: position.count, problems: found });
    }
  }
  if (lastSeq < options.head) report(lastSeq + 1, `the stream ended at sequence ${lastSeq}, before its head ${options.head}`);
  if (options.anchor !== undefined && !anchorSeen && options.anchor.count > 0) {
    report(
      options.anchor.seq,
      `the stream holds ${position.count} event messages, fewer than the ${options.anchor.count} this daemon's read model applied: events were removed`,
    );
  }
  options.onProgress?.({ seq: lastSeq, head: options.head, checked: position.count, problems: found });
  return {
    ok: found === 0,
    checked: position.count,
    head: options.head,
    problems,
    truncated: found > problems.length,
    checkpoints: { checked: checkpoints, coveredEvents },
  };
}
