import { acceptStatement, type StatementProblem } from "./check-statement.js";
import { EMPTY_TRUST, type TrustState } from "./state.js";
import type { KeyStatement } from "./statement.js";

/** One message on the key statements' subject, as stored. */
export interface StatementMessage {
  readonly seq: number;
  readonly data: Uint8Array;
}

export interface StatementRecord {
  readonly seq: number;
  /** The statement as read (null when it was not readable). */
  readonly statement: KeyStatement | null;
  /** Why it does not count; null when it does. */
  readonly problem: StatementProblem | null;
}

export interface FoldedTrust {
  readonly state: TrustState;
  readonly records: readonly StatementRecord[];
}

/**
 * The trust a ledger's key statements establish, read in stream order from its genesis, one
 * message at a time (nothing of a message is kept but what it said), with a record of each
 * statement: counted, or refused and why. With `pinnedAnchor`, a genesis that enrols any other key
 * is refused, and then nothing counts.
 */
export class StatementFold {
  private state = EMPTY_TRUST;
  private readonly records: StatementRecord[] = [];

  constructor(private readonly pinnedAnchor?: string) {}

  add({ seq, data }: StatementMessage): void {
    const checked = acceptStatement(this.state, seq, data, this.pinnedAnchor);
    this.state = checked.state;
    this.records.push({ seq, statement: checked.problem === null ? checked.statement : null, problem: checked.problem });
  }

  result(): FoldedTrust {
    return { state: this.state, records: this.records };
  }
}

export function foldStatements(messages: Iterable<StatementMessage>, pinnedAnchor?: string): FoldedTrust {
  const fold = new StatementFold(pinnedAnchor);
  for (const message of messages) fold.add(message);
  return fold.result();
}
