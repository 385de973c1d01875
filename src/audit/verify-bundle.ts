import { CHECKPOINT_SUBJECT, isEventSubject, KEYS_SUBJECT, type BundleSeal, type RawMessage } from "../format/index.js";
import { StatementFold, type FoldedTrust } from "../trust/index.js";
import { readHeader, readLine } from "./bundle-line.js";
import { textLines, type TextLine } from "./bundle-lines.js";
import { BundleOrder } from "./bundle-order.js";
import { sealProblems } from "./bundle-seal.js";
import { ProblemList, type AuditProblem } from "./problems.js";
import { auditStream, type AuditProgress, type AuditReport } from "./stream-audit.js";

export interface BundleVerifyOptions {
  /** The trust anchor the ledger must have; without it, the one the bundle's header names (not pinned). */
  readonly anchor?: string;
  readonly maxProblems?: number;
  readonly onProgress?: (progress: AuditProgress) => void;
  /** Signature checks in worker threads from this many messages on (the audit's default: 20,000). */
  readonly workersFrom?: number;
}

/**
 * Checks an evidence bundle (docs/evidence-bundle.md) offline, as it is read: nothing but its bytes
 * and the anchor. The key statements (its first part) are folded against the anchor; then every
 * message goes through the stream audit, as if read from the stream; on top of that the bundle's own
 * checks: a readable header of a known version, readable lines in order, and a seal that the lines
 * add up to, signed by a key the statements trust after the bundle's head. The report has the shape
 * of `GET /v1/audit/verify`'s, with `pinnedAnchor` null when no anchor was given.
 */
export async function verifyBundle(chunks: AsyncIterable<Uint8Array>, options: BundleVerifyOptions = {}): Promise<AuditReport> {
  const lines = textLines(chunks)[Symbol.asyncIterator]();
  const first = await lines.next();
  const header = first.done === true ? { problem: "the bundle is empty" } : headerOf(first.value);
  if ("problem" in header) {
    await lines.return?.(undefined);
    return headerFailure(header.problem, options.anchor ?? null);
  }
  const max = options.maxProblems ?? 1000;
  const bundle = new BundleRead(lines, options.anchor ?? header.anchor ?? undefined, new ProblemList(max));
  const trust = await bundle.readStatements();
  const report = await auditStream(bundle.messages(), {
    trust,
    pinnedAnchor: options.anchor,
    head: header.head,
    maxProblems: options.maxProblems,
    onProgress: options.onProgress,
    workersFrom: options.workersFrom,
    wholeStream: false,
  });
  const tally = { headerHead: header.head, ...bundle.order.tally };
  const own = [...bundle.problems.sorted(), ...sealProblems(bundle.seal, tally, trust.state, bundle.exportError)];
  return merged(report, own, bundle.problems.truncated, options.anchor ?? null, max);
}

function headerOf(line: TextLine): ReturnType<typeof readHeader> {
  return line.text === null ? { problem: `the first line is ${line.reason}` } : readHeader(line.text);
}

/** Reads a bundle's lines after its header, in order: its statements first, then the rest as messages for the audit. */
class BundleRead {
  readonly order = new BundleOrder();
  seal: BundleSeal | null = null;
  exportError: string | null = null;
  private readonly statements: RawMessage[] = [];
  /** The first line after the statements, read while looking for their end. */
  private next: TextLine | null = null;

  constructor(
    private readonly lines: AsyncIterator<TextLine>,
    private readonly anchor: string | undefined,
    /** The bundle's own problems of its lines (kept up to the report's limit, all counted). */
    readonly problems: ProblemList,
  ) {}

  /** Folds the key statements (the lines up to the first that is not one) against the anchor. */
  async readStatements(): Promise<FoldedTrust> {
    const fold = new StatementFold(this.anchor);
    for (;;) {
      const read = await this.lines.next();
      if (read.done === true) break;
      const line = read.value;
      const parsed = line.text === null ? null : readLine(line.text);
      if (parsed?.kind !== "message" || parsed.message.subject !== KEYS_SUBJECT) {
        this.next = line;
        break;
      }
      const problem = this.order.statement(parsed.message, line.number);
      if (problem !== null) this.problems.add(problem);
      fold.add(parsed.message);
      this.statements.push(parsed.message);
    }
    this.order.beginBody();
    return fold.result();
  }

  /** The statements (for the audit to report on), then every event and checkpoint line as a message. */
  async *messages(): AsyncGenerator<RawMessage> {
    yield* this.statements;
    this.statements.length = 0;
    let line = this.next;
    while (line !== null) {
      const message = this.take(line);
      if (message !== null) yield message;
      const read = await this.lines.next();
      line = read.done === true ? null : read.value;
    }
  }

  /** One line after the statements: the message to audit, or null (its problem is noted). */
  private take(line: TextLine): RawMessage | null {
    const at = this.order.lastSeq;
    const problem = (reason: string): null => {
      this.problems.add({ seq: at, code: "unreadable_line", reason: `line ${line.number}: ${reason}`, line: line.number });
      return null;
    };
    if (line.text === null) return problem(line.reason);
    if (this.seal !== null || this.exportError !== null)
      return problem(`comes after the bundle's ${this.seal !== null ? "seal" : "error line"}, which must be the last line`);
    const parsed = readLine(line.text);
    switch (parsed.kind) {
      case "unreadable":
        return problem(parsed.reason);
      case "seal":
        this.seal = parsed.seal;
        return null;
      case "error":
        this.exportError = parsed.message;
        return null;
      case "message": {
        const { message } = parsed;
        if (message.subject === KEYS_SUBJECT) {
          this.problems.add({
            seq: message.seq,
            code: "out_of_order",
            reason: `line ${line.number}: a key statement after the events began (the statements come first): it was not read as one`,
            line: line.number,
          });
          return null;
        }
        if (!isEventSubject(message.subject) && message.subject !== CHECKPOINT_SUBJECT)
          return problem(
            `subject ${JSON.stringify(message.subject.slice(0, 80))} is none of a bundle's (kl.keys, kl.acct.*, kl.checkpoint)`,
          );
        const order = this.order.body(message, line.number);
        if (order !== null) this.problems.add(order);
        return message;
      }
      default: {
        const unknown: never = parsed;
        return unknown;
      }
    }
  }
}

/** The audit's report with the bundle's own problems added, in sequence order, within the same limit. */
function merged(
  report: AuditReport,
  own: readonly AuditProblem[],
  ownTruncated: boolean,
  pinnedAnchor: string | null,
  max: number,
): AuditReport {
  const all = [...report.problems, ...own]
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => a.problem.seq - b.problem.seq || a.index - b.index)
    .map(({ problem }) => problem);
  return {
    ...report,
    ok: report.ok && own.length === 0,
    pinnedAnchor,
    problems: all.slice(0, max),
    truncated: report.truncated || ownTruncated || all.length > max,
  };
}

function headerFailure(reason: string, pinnedAnchor: string | null): AuditReport {
  return {
    ok: false,
    checked: 0,
    head: 0,
    anchor: null,
    pinnedAnchor,
    problems: [{ seq: 0, code: "bundle_header", reason: `line 1: ${reason}; nothing else was checked`, line: 1 }],
    truncated: false,
    checkpoints: { checked: 0, coveredEvents: 0 },
    statements: { checked: 0, counted: 0 },
  };
}
