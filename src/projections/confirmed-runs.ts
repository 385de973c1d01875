import type { RefusedMessages } from "../format/index.js";

/** An authentic checkpoint (hashed right, signed by a key trusted at its sequence) that lists what its writer refused. */
export interface VouchingCheckpoint {
  /** Its own stream sequence. */
  readonly seq: number;
  readonly upToSeq: number;
  readonly eventCount: number;
  readonly digest: string;
  readonly refused: RefusedMessages;
}

/** Where a run ends: the event message at `upToSeq` must be there, with the running digest after it as stated. */
export interface RunEnd {
  readonly upToSeq: number;
  readonly eventCount: number;
  readonly digest: string;
  /** The sequence of the checkpoint that states it. */
  readonly seq: number;
}

/**
 * Runs of event messages that signed checkpoints vouch for, from a read model's position on: a
 * message in a run, unless its checkpoint lists it as refused, was checked and applied by the
 * checkpoint's writer, so a replay may apply it without its own hash and Ed25519 checks, as long as
 * the run's end is there and the running digest it computes over the run's bytes comes out as the
 * checkpoint says (`ends`); if not, nothing in the run may be taken on the checkpoint's word. The
 * refused messages, and everything after the last run, are checked as always.
 */
export class ConfirmedRuns {
  static readonly NONE = new ConfirmedRuns([], new Set(), 0);

  private constructor(
    /** The runs' ends, in stream order. */
    readonly ends: readonly RunEnd[],
    private readonly refused: ReadonlySet<number>,
    /** The last event message the runs cover (0: none). */
    readonly end: number,
  ) {}

  /**
   * The runs that follow on from `from` (the last event message the read model's digest covers),
   * each starting at or before the end of the one before: checkpoints are taken in the order of
   * what they cover, and one that would leave a gap is passed over.
   */
  static from(from: number, checkpoints: readonly VouchingCheckpoint[]): ConfirmedRuns {
    const ends: RunEnd[] = [];
    const refused = new Set<number>();
    let end = from;
    for (const checkpoint of [...checkpoints].sort((a, b) => a.upToSeq - b.upToSeq || a.seq - b.seq)) {
      if (checkpoint.upToSeq <= end || checkpoint.refused.after > end) continue;
      ends.push({
        upToSeq: checkpoint.upToSeq,
        eventCount: checkpoint.eventCount,
        digest: checkpoint.digest,
        seq: checkpoint.seq,
      });
      for (const seq of checkpoint.refused.seqs) refused.add(seq);
      end = checkpoint.upToSeq;
    }
    return end === from ? ConfirmedRuns.NONE : new ConfirmedRuns(ends, refused, end);
  }

  /** Whether the event message at `seq` may be applied on a checkpoint's word. */
  vouchesFor(seq: number): boolean {
    return seq <= this.end && !this.refused.has(seq);
  }
}
