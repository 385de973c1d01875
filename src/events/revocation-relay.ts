import { headers } from "@nats-io/transport-node";
import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { endsCredentials, MAYBE_REVOCATION, type EventType } from "../domain/index.js";
import { decodeEnvelope, signedBytes, toDomainEvent, type EventEnvelope } from "../format/index.js";
import { hashProblem, signatureProblem, type SignerTrust } from "../format/index.js";
import type { JetStreamEventStore } from "./event-store.js";
import { isWrongLastSequence, translate } from "./nats-errors.js";
import { StreamFollower, type FollowStep } from "./stream-follower.js";
import { ensureStream } from "./streams.js";
import { relayMarkOf, type RelayMark, type RelayMarkStore } from "./relay-mark.js";
import { accountIdOfSubject, REVOCATION_SUBJECTS, revocationStreamName, revocationSubject } from "../format/index.js";

export const SOURCE_SEQ_HEADER = "Kl-Source-Seq";

/** The relay saves how far it has looked at most this often (messages, milliseconds). */
const MARK_EVERY_MESSAGES = 1000;
const MARK_EVERY_MS = 1000;

/**
 * The revocation feed. On nats-server 2.9 an account's events share one subject (the unit of
 * optimistic concurrency), so a subject filter cannot pick revocations out of the event stream.
 * Every daemon therefore relays each revocation event, unchanged, into a stream of its own,
 * `<stream>_REVOCATIONS`, on `kl.revoked.<accountId>.<EventType>`, where a service follows them
 * with a subject filter alone and catches up from the last sequence it saw. Each copy is appended
 * with the feed's expected last sequence and a message id derived from the source sequence, so with
 * several daemons relaying, each revocation lands exactly once and in stream order.
 */
export class RevocationRelay {
  private readonly follower: StreamFollower;
  private relayed = 0;
  private feedSeq = 0;
  /** The last message handled (passed over or copied), not yet saved as the mark. */
  private handled: { seq: number; data: Uint8Array } | null = null;
  private markedSeq = 0;
  private markedAt = 0;
  private marking: Promise<void> = Promise.resolve();
  private examinedSinceStart = 0;

  private constructor(
    private readonly store: JetStreamEventStore,
    private readonly trust: SignerTrust,
    private readonly logger: Logger,
    readonly stream: string,
    retryDelayMs: number,
    private readonly sealedHere: (envelope: EventEnvelope) => boolean,
    private readonly marks: RelayMarkStore | null,
  ) {
    this.follower = new StreamFollower(
      store,
      {
        resumeAfter: () => this.resumeAfter(),
        onMessage: async (message) => {
          const step = await this.onMessage(message);
          if (step === "next") this.passed(message);
          return step;
        },
      },
      logger,
      retryDelayMs,
    );
  }

  /**
   * `trust`: the ledger's trust root; only events a key trusted at their sequence signed are copied
   * into the feed. `sealedHere`: events this very daemon sealed a moment ago (same hash and
   * signature), whose Ed25519 check would only repeat its own work; their signer's trust is still
   * checked. `marks`: where the relay keeps how far it has looked, so that a restart goes on from
   * there rather than from the last revocation in the feed, which may lie a long history back.
   */
  static async open(
    store: JetStreamEventStore,
    trust: SignerTrust,
    logger: Logger,
    options: { retryDelayMs?: number; sealedHere?: (envelope: EventEnvelope) => boolean; marks?: RelayMarkStore } = {},
  ): Promise<RevocationRelay> {
    const stream = revocationStreamName(store.options.stream);
    try {
      await ensureStream(store.manager, {
        name: stream,
        subjects: REVOCATION_SUBJECTS,
        replicas: store.options.replicas,
        duplicateWindowMs: store.options.duplicateWindowMs,
      });
    } catch (error) {
      throw translate(error, "opening the revocation feed");
    }
    return new RevocationRelay(
      store,
      trust,
      logger,
      stream,
      options.retryDelayMs ?? 1000,
      options.sealedHere ?? (() => false),
      options.marks ?? null,
    );
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
    this.saveMark();
    await this.marking;
  }

  /** The source sequence of the last revocation this relay saw in the feed (its own or another daemon's). */
  get position(): number {
    return this.relayed;
  }

  /**
   * Only what a key trusted by the ledger at the event's sequence signed goes into the feed (the
   * chain is the projector's business). A ledger that cannot be read throws: the follower retries.
   */
  private async authentic(message: JsMsg, envelope: EventEnvelope, signed: Uint8Array): Promise<boolean> {
    let problem = hashProblem(envelope, signed);
    if (problem === null) {
      const signer = await this.trust.signerAt(envelope.signingKeyId, message.seq);
      problem = "code" in signer ? signer.reason : this.sealedHere(envelope) ? null : signatureProblem(envelope, signer, signed);
    }
    if (problem !== null) this.logger.error({ seq: message.seq, problem }, "not relaying an event no trusted key signed");
    return problem === null;
  }

  /**
   * Where the feed stands: its last sequence (the next copy is appended expecting it), and the
   * source sequence of its last *genuine* copy — one whose `Kl-Source-Seq` names an event message
   * with exactly its bytes. Anybody who can write to NATS can append to the feed; a message of
   * theirs with a made-up source sequence must not make the relay skip what it has not copied.
   */
  private async resumeAfter(): Promise<number> {
    const manager = this.store.manager;
    const last = await manager.streams.getMessage(this.stream, { last_by_subj: REVOCATION_SUBJECTS[0]! });
    this.feedSeq = last?.seq ?? 0;
    this.relayed = 0;
    for (let seq = this.feedSeq; seq > 0; seq--) {
      const copy = seq === last?.seq ? last : await manager.streams.getMessage(this.stream, { seq }).catch(() => null);
      if (copy === null || copy === undefined) continue;
      const source = Number(copy.header?.get(SOURCE_SEQ_HEADER) ?? Number.NaN);
      if (await this.isCopyOf(copy.data, source)) {
        this.relayed = source;
        break;
      }
      this.logger.warn({ feedSeq: seq }, "the revocation feed holds a message that is no copy of an event: passing over it");
    }
    const mark = await this.trustedMark();
    return Math.max(this.relayed, mark?.seq ?? 0);
  }

  /**
   * The mark a previous run left, if the stream still holds, at its sequence, the very message it
   * names (a restored or replaced stream has other bytes there, or none): everything up to it was
   * looked at and, where it revoked, copied.
   */
  private async trustedMark(): Promise<RelayMark | null> {
    const mark = await this.marks?.load();
    if (mark === null || mark === undefined || mark.seq <= this.relayed) return null;
    const message = await this.store.manager.streams.getMessage(this.store.options.stream, { seq: mark.seq }).catch(() => null);
    if (message === null || message === undefined || relayMarkOf(mark.seq, message.data).digest !== mark.digest) {
      this.logger.warn(
        { mark: mark.seq },
        "the revocation relay's mark names a message the stream does not hold: looking from the feed's last copy",
      );
      return null;
    }
    this.logger.info({ after: mark.seq, lastCopied: this.relayed }, "the revocation relay goes on from where it had looked");
    this.markedSeq = mark.seq;
    return mark;
  }

  /** The sequence of the last event message this relay has looked at (from its mark, at a start). */
  get lookedUpTo(): number {
    return Math.max(this.handled?.seq ?? 0, this.markedSeq);
  }

  /** Event messages looked at since this relay started (a restart that goes on from its mark looks at few). */
  get examined(): number {
    return this.examinedSinceStart;
  }

  /** A message handled: the mark moves on (saved now and then, and at stop). */
  private passed(message: JsMsg): void {
    this.examinedSinceStart += 1;
    this.handled = { seq: message.seq, data: message.data };
    const now = Date.now();
    if (message.seq - this.markedSeq >= MARK_EVERY_MESSAGES || now - this.markedAt >= MARK_EVERY_MS) this.saveMark();
  }

  private saveMark(): void {
    const handled = this.handled;
    if (this.marks === null || handled === null || handled.seq <= this.markedSeq) return;
    const marks = this.marks;
    this.markedSeq = handled.seq;
    this.markedAt = Date.now();
    const mark = relayMarkOf(handled.seq, handled.data);
    this.marking = this.marking
      .then(() => marks.save(mark))
      .catch((error: unknown) => this.logger.warn({ err: error }, "could not save how far the revocation relay has looked"));
  }

  /** Whether the feed's message at `feedSeq` is the copy of the event at `source`. */
  private async isCopyAt(feedSeq: number, source: number, data: Uint8Array): Promise<boolean> {
    const copy = await this.store.manager.streams.getMessage(this.stream, { seq: feedSeq }).catch(() => null);
    return (
      copy !== null &&
      Number(copy.header?.get(SOURCE_SEQ_HEADER) ?? Number.NaN) === source &&
      Buffer.from(copy.data).equals(Buffer.from(data))
    );
  }

  private async isCopyOf(data: Uint8Array, source: number): Promise<boolean> {
    if (!Number.isSafeInteger(source) || source < 1) return false;
    const original = await this.store.manager.streams.getMessage(this.store.options.stream, { seq: source }).catch(() => null);
    return (
      original !== null && accountIdOfSubject(original.subject) !== null && Buffer.from(original.data).equals(Buffer.from(data))
    );
  }

  private async onMessage(message: JsMsg): Promise<FollowStep> {
    const type = message.headers?.get("Kl-Event-Type") ?? "";
    const accountId = accountIdOfSubject(message.subject);
    // Most events are no revocation, and their type is in a header: those are passed over unread.
    if (accountId === null || (type !== "" && !MAYBE_REVOCATION.has(type as EventType))) return "next";
    let envelope: EventEnvelope;
    let signed: Uint8Array;
    let revokes: boolean;
    try {
      envelope = decodeEnvelope(message.data);
      signed = signedBytes(envelope);
      revokes = endsCredentials(toDomainEvent(envelope));
    } catch {
      return "next"; // not a readable event: the projector records it, the audit reports it
    }
    // A signed event copied onto another account's subject would revoke that account's answers.
    if (envelope.accountId !== accountId || !revokes) return "next";
    if (!(await this.authentic(message, envelope, signed))) return "next";
    // Fresh headers for each publish: the client writes the message id into the ones it is given.
    const copyHeaders = (): ReturnType<typeof headers> => {
      const hdrs = headers();
      hdrs.set(SOURCE_SEQ_HEADER, String(message.seq));
      hdrs.set("Kl-Event-Type", envelope.type);
      return hdrs;
    };
    const subject = revocationSubject(accountId, envelope.type);
    try {
      // The message id lets the daemons relaying one event store it once. Anybody can compute it,
      // and a message of theirs under it would drop this copy as a duplicate: so a duplicate counts
      // only when the copy it names is this very event; else the copy goes again, under no id.
      let ack = await this.store.jetstream.publish(subject, message.data, {
        msgID: `revocation:${message.seq}`,
        expect: { lastSequence: this.feedSeq },
        headers: copyHeaders(),
        timeout: this.store.options.publishTimeoutMs,
      });
      if (ack.duplicate && !(await this.isCopyAt(ack.seq, message.seq, message.data))) {
        this.logger.warn(
          { feedSeq: ack.seq, seq: message.seq },
          "the revocation feed holds a message under this event's id that is no copy of it",
        );
        ack = await this.store.jetstream.publish(subject, message.data, {
          expect: { lastSequence: Math.max(this.feedSeq, ack.seq) },
          headers: copyHeaders(),
          timeout: this.store.options.publishTimeoutMs,
        });
      }
      this.feedSeq = Math.max(this.feedSeq, ack.seq);
      this.relayed = message.seq;
      return "next";
    } catch (error) {
      // Another daemon relayed past this point: start again from what the feed holds.
      if (isWrongLastSequence(error)) return "restart";
      throw error;
    }
  }
}
