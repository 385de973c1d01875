import { advancePosition, isEventSubject, START_POSITION, type DigestPosition, type RawMessage } from "../format/index.js";
import type { AuditProblem } from "./problems.js";

/**
 * The order a bundle's message lines must keep: sequences strictly increasing within each of its two
 * parts (key statements, then events and checkpoints), and no sequence twice. It also counts what
 * the seal must add up to, in the order the lines come.
 */
export class BundleOrder {
  private lastInPart = 0;
  private readonly statementSeqs = new Set<number>();
  private position: DigestPosition = START_POSITION;
  private highest = 0;
  private statementCount = 0;
  private checkpointCount = 0;

  /** A key statement line; the problem when it is out of order. */
  statement(message: RawMessage, line: number): AuditProblem | null {
    this.statementCount += 1;
    this.statementSeqs.add(message.seq);
    return this.follow(message.seq, line, "key statement");
  }

  /** Where the second part (events and checkpoints) begins: its sequences start again. */
  beginBody(): void {
    this.lastInPart = 0;
  }

  /** An event or checkpoint line; the problem when it is out of order. */
  body(message: RawMessage, line: number): AuditProblem | null {
    if (isEventSubject(message.subject)) this.position = advancePosition(this.position, message.seq, message.data);
    else this.checkpointCount += 1;
    if (this.statementSeqs.has(message.seq))
      return this.outOfOrder(message.seq, line, `sequence ${message.seq} is a key statement's already: a line was duplicated`);
    return this.follow(message.seq, line, "line");
  }

  private follow(seq: number, line: number, what: string): AuditProblem | null {
    const previous = this.lastInPart;
    this.highest = Math.max(this.highest, seq);
    this.lastInPart = Math.max(previous, seq);
    if (seq > previous) return null;
    return this.outOfOrder(
      seq,
      line,
      seq === previous
        ? `sequence ${seq} comes twice: a line was duplicated`
        : `this ${what} (sequence ${seq}) comes after sequence ${previous}: lines were reordered or inserted`,
    );
  }

  private outOfOrder(seq: number, line: number, reason: string): AuditProblem {
    return { seq, code: "out_of_order", reason: `line ${line}: ${reason}`, line };
  }

  /** The last sequence seen in any line (0: none). */
  get lastSeq(): number {
    return this.highest;
  }

  get tally(): { eventCount: number; digest: string; statements: number; checkpoints: number; lastSeq: number } {
    return {
      eventCount: this.position.count,
      digest: this.position.digest,
      statements: this.statementCount,
      checkpoints: this.checkpointCount,
      lastSeq: this.highest,
    };
  }
}
