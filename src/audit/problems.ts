/** What an audit can find, one code per kind of problem. */
export type ProblemCode =
  | "unreadable"
  | "wrong_subject"
  | "hash_mismatch"
  | "bad_signature"
  | "untrusted_signer"
  | "chain_broken"
  | "checkpoint_chain_broken"
  | "checkpoint_digest_mismatch"
  | "checkpoint_out_of_reach"
  | "checkpoint_keys_mismatch"
  | "stream_truncated"
  | "read_model_mismatch"
  | "no_trust_anchor"
  | "anchor_mismatch"
  | "invalid_statement"
  | "statement_unread"
  // An evidence bundle's own problems (src/audit/verify-bundle.ts):
  | "bundle_header"
  | "unreadable_line"
  | "out_of_order"
  | "bundle_cut_off"
  | "bundle_seal_mismatch"
  | "bundle_unsealed";

export interface AuditProblem {
  /** Stream sequence of the message the problem shows at. */
  readonly seq: number;
  readonly code: ProblemCode;
  /** A sentence saying what is wrong and what it means. */
  readonly reason: string;
  /** The signing key concerned (an untrusted signer, a statement's key). */
  readonly kid?: string;
  /** In an evidence bundle: the line (from 1) the problem shows on, when the line itself is at fault. */
  readonly line?: number;
}

/** The problems found, kept up to a limit (the count goes on), answered in stream order. */
export class ProblemList {
  private readonly kept: AuditProblem[] = [];
  private count = 0;

  constructor(private readonly max: number) {}

  add(problem: AuditProblem): void {
    this.count += 1;
    if (this.kept.length < this.max) this.kept.push(problem);
  }

  get found(): number {
    return this.count;
  }

  get truncated(): boolean {
    return this.count > this.kept.length;
  }

  /** Sorted by sequence; problems at one sequence keep the order they were found in. */
  sorted(): AuditProblem[] {
    return this.kept
      .map((problem, index) => ({ problem, index }))
      .sort((a, b) => a.problem.seq - b.problem.seq || a.index - b.index)
      .map(({ problem }) => problem);
  }
}
