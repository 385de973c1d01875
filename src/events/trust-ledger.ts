import type { Logger } from "pino";
import {
  acceptStatement,
  EMPTY_TRUST,
  signerAt,
  trustedNow,
  type EnrolledKey,
  type SignerCheck,
  type StatementProblem,
  type TrustState,
} from "../trust/index.js";
import { StoreUnavailableError } from "./errors.js";
import type { JetStreamEventStore } from "./event-store.js";
import { KEYS_SUBJECT } from "../format/index.js";
import type { SignerTrust } from "../format/index.js";

/** How long a question about a sequence waits for the projector to pass it, before the subject is read. */
const PROJECTOR_GRACE_MS = 250;

/** How many refused statements are remembered (they are logged as they come). */
const REFUSED_KEPT = 100;

/**
 * The daemon's view of the ledger's trust root: the key statements on `kl.keys`, read at start,
 * then fed in stream order by the projector (which follows the whole stream) or read on demand.
 * It knows every statement appended before `coveredUpTo`, so a question about a sequence up to
 * there has a final answer; `signerAt` reads what is missing first. Nothing here comes from the
 * signing-key KV bucket: a key counts only by a statement an already-trusted key signed.
 */
export class TrustLedger implements SignerTrust {
  private state: TrustState = EMPTY_TRUST;
  /** The last message read on the statements' subject, counted or not: the next append expects it. */
  private subjectSeq = 0;
  private covered = 0;
  private refreshing: Promise<void> | null = null;
  private readonly refused: Array<{ seq: number; problem: StatementProblem }> = [];
  /** Every statement that counted: by its sequence, and by its version. */
  private readonly countedBySeq = new Map<number, { version: number; hash: string }>();
  private readonly countedByVersion = new Map<number, { seq: number; hash: string }>();

  private constructor(
    private readonly store: JetStreamEventStore,
    private readonly logger: Logger,
    private readonly pinnedAnchor: string | undefined,
  ) {}

  /** Reads every key statement the stream holds now. */
  static async open(store: JetStreamEventStore, logger: Logger, pinnedAnchor?: string): Promise<TrustLedger> {
    const ledger = new TrustLedger(store, logger, pinnedAnchor);
    await ledger.refresh();
    return ledger;
  }

  get trust(): TrustState {
    return this.state;
  }

  /** The stream sequence of the last message on `kl.keys` (0: none): a new statement is appended expecting it. */
  get lastStatementSeq(): number {
    return this.subjectSeq;
  }

  get coveredUpTo(): number {
    return this.covered;
  }

  /** Statements that did not count, with why (the most recent ones). */
  get refusedStatements(): ReadonlyArray<{ seq: number; problem: StatementProblem }> {
    return this.refused;
  }

  /** A message of `kl.keys` at `seq`, in stream order; one already read is passed over. */
  feed(seq: number, data: Uint8Array): void {
    if (seq <= this.subjectSeq) return;
    const checked = acceptStatement(this.state, seq, data, this.pinnedAnchor);
    this.subjectSeq = seq;
    this.covered = Math.max(this.covered, seq);
    if (checked.problem !== null) {
      this.refused.push({ seq, problem: checked.problem });
      if (this.refused.length > REFUSED_KEPT) this.refused.shift();
      this.logger.error({ seq, ...checked.problem }, "a signing key statement does not count");
      return;
    }
    this.state = checked.state;
    const { type, data: fact, version, hash } = checked.statement!;
    this.countedBySeq.set(seq, { version, hash });
    this.countedByVersion.set(version, { seq, hash });
    this.logger.info({ seq, type, kid: fact.kid }, "signing key statement applied");
  }

  /** The statement at `seq` if it counted (its version and hash), else null. */
  statementAt(seq: number): { version: number; hash: string } | null {
    return this.countedBySeq.get(seq) ?? null;
  }

  /** The statement of a version in the chain that counts (its sequence and hash), else null. */
  statementOfVersion(version: number): { seq: number; hash: string } | null {
    return this.countedByVersion.get(version) ?? null;
  }

  /** Every message before and at `seq` was seen in stream order (by a follower of the whole stream). */
  observe(seq: number): void {
    if (seq <= this.covered) return;
    this.covered = seq;
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((waiter) => waiter.seq <= seq);
    this.waiting = this.waiting.filter((waiter) => waiter.seq > seq);
    for (const waiter of ready) waiter.resolve();
  }

  private waiting: Array<{ seq: number; resolve: () => void }> = [];

  /**
   * Makes sure every statement before `seq` is known. The daemon's projector, which follows the
   * whole stream, gets there a moment later as a rule (the revocation relay, say, reads the same
   * message at the same time): it is given that moment before the subject is read. A read already
   * under way may have asked for the head before `seq` existed: then another one goes.
   */
  async ensureCovers(seq: number): Promise<void> {
    if (this.covered >= seq) return;
    await this.coveredWithin(seq, PROJECTOR_GRACE_MS);
    for (let attempt = 0; this.covered < seq; attempt++) {
      if (attempt === 3) throw new StoreUnavailableError(`the stream's head stays before sequence ${seq}`);
      await this.refresh();
    }
  }

  private coveredWithin(seq: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { seq, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((waiter) => waiter !== entry);
        resolve();
      }, ms);
      this.waiting.push(entry);
    });
  }

  /** Reads the statements appended since the last one read. */
  refresh(): Promise<void> {
    this.refreshing ??= this.readNew().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async readNew(): Promise<void> {
    // Everything stored before the head asked now is on the subject by the time it is read.
    const head = await this.store.head();
    for await (const message of this.store.messages({ filter: KEYS_SUBJECT, fromSeq: this.subjectSeq + 1, toSeq: head }))
      this.feed(message.seq, message.data);
    this.observe(head);
  }

  async signerAt(kid: string, seq: number): Promise<SignerCheck> {
    await this.ensureCovers(seq);
    return signerAt(this.state, kid, seq);
  }

  /** `signerAt` for a sequence the caller knows is covered (a follower of the whole stream, in order). */
  signerAtCovered(kid: string, seq: number): SignerCheck {
    return signerAt(this.state, kid, seq);
  }

  /** The key if it counts for what it signs from now on (enrolled, not revoked), else null. */
  trustedNow(kid: string): EnrolledKey | null {
    return trustedNow(this.state, kid);
  }

  /** Every key that counts from now on, the anchor first. */
  trustedKeys(): EnrolledKey[] {
    return [...this.state.keys.values()].filter((key) => key.revokedAtSeq === null);
  }
}
