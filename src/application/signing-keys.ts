import { NotFoundError, SYSTEM_GENESIS, type Actor } from "../domain/index.js";
import { ConcurrencyError, type Announcement, type JetStreamEventStore } from "../events/index.js";
import type { Signer } from "../signing/index.js";
import {
  decideTrust,
  sealStatement,
  type EnrolledKey,
  type KeyStatement,
  type TrustCommand,
  type TrustState,
} from "../trust/index.js";
import type { CommandContext } from "./command-handler.js";
import { newStatementId } from "./ids.js";

/** A statement is decided again this often when others are appended meanwhile (an intruder's garbage included). */
const ATTEMPTS = 10;

/** The ledger's trust root as the use cases need it (the daemon's `TrustLedger`). */
export interface TrustRoot {
  readonly trust: TrustState;
  readonly lastStatementSeq: number;
  feed(seq: number, data: Uint8Array): void;
  refresh(): Promise<void>;
}

/** Daemons that asked to be approved (the announcements bucket: never a source of trust). */
export interface PendingKeys {
  get(kid: string): Announcement | null;
  all(): Announcement[];
}

/** Keys that signed events before the genesis which the read model passed over, with how many. */
export type LegacySigners = () => Promise<ReadonlyMap<string, number>>;

export type SigningKeyStatus = "trusted" | "pending" | "revoked";

/** A signing key as `GET /v1/signing-keys` shows it. */
export interface SigningKeyView {
  readonly kid: string;
  readonly status: SigningKeyStatus;
  readonly anchor: boolean;
  /** The raw public key, base64url (null: a pending key nobody announced, known only by its signatures). */
  readonly publicKey: string | null;
  readonly enrolledAtSeq: number | null;
  /** The key that signed the enrolment. */
  readonly enrolledBy: string | null;
  readonly approvedBy: Actor | null;
  readonly legacyHistory: boolean;
  readonly revokedAtSeq: number | null;
  readonly revokedBy: string | null;
  readonly reason: string | null;
  /** Events before the genesis that this key signed and this daemon's read model passed over. */
  readonly legacyEvents: number;
}

/**
 * The use cases of the trust root: the genesis, approving a pending key, revoking one, and the
 * list. Each statement is decided on the trust state, sealed by this daemon's key, and appended to
 * `kl.keys` with the expected last sequence of that subject; a concurrent statement (another daemon,
 * or anything an intruder appended there) makes it read the subject again and decide again.
 */
export class SigningKeys {
  constructor(
    private readonly store: JetStreamEventStore,
    private readonly root: TrustRoot,
    private readonly pending: PendingKeys,
    private readonly legacySigners: LegacySigners,
    private readonly signer: Signer,
    private readonly clock: () => Date,
  ) {}

  /** On a stream without a trust anchor, enrols this daemon's key as the anchor; answers whether it did. */
  async enrolGenesis(): Promise<boolean> {
    const publicKey = Buffer.from(this.signer.publicKey).toString("base64url");
    return this.run(
      (metadata) => ({ type: "EnrolGenesis", data: { kid: this.signer.keyId, publicKey }, metadata }),
      { actor: SYSTEM_GENESIS, requestId: null },
      () => this.root.trust.anchor === null,
    );
  }

  /**
   * Enrols a key: one a daemon announced, or one given with its public key. A key that signed
   * events before the genesis (a stream older than the trust root) is enrolled for those too.
   */
  async approve(kid: string, context: CommandContext, publicKey?: string): Promise<SigningKeyView> {
    const known = this.root.trust.keys.get(kid);
    const text = publicKey ?? (known === undefined ? this.announcedKey(kid) : Buffer.from(known.publicKey).toString("base64url"));
    const legacy = (await this.legacySigners()).has(kid);
    await this.run(
      (metadata) => ({
        type: "ApproveKey",
        data: { kid, publicKey: text, legacyHistory: legacy, signer: this.signer.keyId },
        metadata,
      }),
      context,
    );
    return (await this.view(kid))!;
  }

  async revoke(kid: string, reason: string, context: CommandContext): Promise<SigningKeyView> {
    await this.run((metadata) => ({ type: "RevokeKey", data: { kid, reason, signer: this.signer.keyId }, metadata }), context);
    return (await this.view(kid))!;
  }

  /** Every key the ledger enrolled, then every pending one (announced, or seen signing before the genesis). */
  async list(): Promise<{ anchor: string | null; items: SigningKeyView[] }> {
    const legacy = await this.legacySigners();
    const enrolled = [...this.root.trust.keys.values()].map((key) => enrolledView(key, this.root.trust, legacy));
    const kids = new Set(enrolled.map((key) => key.kid));
    const waiting = new Map<string, SigningKeyView>();
    for (const { kid, publicKey } of this.pending.all())
      if (!kids.has(kid)) waiting.set(kid, pendingView(kid, Buffer.from(publicKey).toString("base64url"), legacy.get(kid) ?? 0));
    for (const [kid, count] of legacy) if (!kids.has(kid) && !waiting.has(kid)) waiting.set(kid, pendingView(kid, null, count));
    const pendingKeys = [...waiting.values()].sort((a, b) => (a.kid < b.kid ? -1 : 1));
    return { anchor: this.root.trust.anchor, items: [...enrolled, ...pendingKeys] };
  }

  async view(kid: string): Promise<SigningKeyView | null> {
    return (await this.list()).items.find((key) => key.kid === kid) ?? null;
  }

  private announcedKey(kid: string): string {
    const announced = this.pending.get(kid);
    if (announced === null)
      throw new NotFoundError(
        "signing key not found: no daemon announced it; give its public key (publicKey, base64url) to approve it anyway",
      );
    return Buffer.from(announced.publicKey).toString("base64url");
  }

  /**
   * Decides on the trust state as known, seals, and appends after the last message of `kl.keys`;
   * the statement is then fed to the trust root at once (nothing came between: the expected
   * sequence held). Answers whether a statement was appended.
   */
  private async run(
    command: (metadata: { now: string; actor: Actor }) => TrustCommand,
    context: CommandContext,
    stillNeeded: () => boolean = () => true,
  ): Promise<boolean> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (!stillNeeded()) return false;
      const state = this.root.trust;
      const facts = decideTrust(command({ now: this.clock().toISOString(), actor: context.actor }), state);
      if (facts.length === 0) return false;
      const statement: KeyStatement = sealStatement(
        facts[0]!,
        state,
        { id: newStatementId(), actor: context.actor, requestId: context.requestId },
        this.signer,
      );
      try {
        const seq = await this.store.appendStatement(statement, this.root.lastStatementSeq);
        this.root.feed(seq, Buffer.from(JSON.stringify(statement), "utf8"));
        return true;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
        await this.root.refresh();
      }
    }
    throw new ConcurrencyError("kl.keys");
  }
}

function enrolledView(key: EnrolledKey, trust: TrustState, legacy: ReadonlyMap<string, number>): SigningKeyView {
  return {
    kid: key.kid,
    status: key.revokedAtSeq === null ? "trusted" : "revoked",
    anchor: trust.anchor === key.kid,
    publicKey: Buffer.from(key.publicKey).toString("base64url"),
    enrolledAtSeq: key.enrolledAtSeq,
    enrolledBy: key.enrolledBy,
    approvedBy: key.approvedBy,
    legacyHistory: key.legacyHistory,
    revokedAtSeq: key.revokedAtSeq,
    revokedBy: key.revokedBy,
    reason: key.reason,
    legacyEvents: legacy.get(key.kid) ?? 0,
  };
}

function pendingView(kid: string, publicKey: string | null, legacyEvents: number): SigningKeyView {
  return {
    kid,
    status: "pending",
    anchor: false,
    publicKey,
    enrolledAtSeq: null,
    enrolledBy: null,
    approvedBy: null,
    legacyHistory: false,
    revokedAtSeq: null,
    revokedBy: null,
    reason: null,
    legacyEvents,
  };
}
