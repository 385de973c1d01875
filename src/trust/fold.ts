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
  readonly statement: KeyStatement | null;
  /** Why it does not count; null when it does. */
  readonly problem: StatementProblem | null;
}

export interface FoldedTrust {
  readonly state: TrustState;
  readonly records: readonly StatementRecord[];
}

/**
 * The trust a ledger's key statements establish, read in stream order from its genesis, with a
 * record of each statement: counted, or refused and why. With `pinnedAnchor`, a genesis that
 * enrols any other key is refused, and then nothing counts.
 */
export function foldStatements(messages: Iterable<StatementMessage>, pinnedAnchor?: string): FoldedTrust {
  let state = EMPTY_TRUST;
  const records: StatementRecord[] = [];
  for (const { seq, data } of messages) {
    const checked = acceptStatement(state, seq, data, pinnedAnchor);
    state = checked.state;
    records.push({ seq, statement: checked.statement, problem: checked.problem });
  }
  return { state, records };
}
