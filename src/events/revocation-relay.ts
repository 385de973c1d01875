import { headers } from "@nats-io/transport-node";
import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { REVOCATION_EVENT_TYPES, type EventType } from "../domain/index.js";
import { decodeEnvelope } from "./envelope.js";
import { hashProblem, signatureProblem, UnknownKeyPatience, type PublicKeys } from "./verify-event.js";
import type { JetStreamEventStore } from "./event-store.js";
import { isWrongLastSequence, translate } from "./nats-errors.js";
import { StreamFollower, type FollowStep } from "./stream-follower.js";
import { ensureStream } from "./streams.js";
import { accountIdOfSubject, REVOCATION_SUBJECTS, revocationStreamName, revocationSubject } from "./subjects.js";

export const SOURCE_SEQ_HEADER = "Kl-Source-Seq";

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
  private readonly patience = new UnknownKeyPatience();

  private constructor(
    private readonly store: JetStreamEventStore,
    private readonly keys: PublicKeys,
    private readonly logger: Logger,
    readonly stream: string,
    retryDelayMs: number,
  ) {
    this.follower = new StreamFollower(
      store,
      { resumeAfter: () => this.resumeAfter(), onMessage: (message) => this.onMessage(message) },
      logger,
      retryDelayMs,
    );
  }

  /** `keys`: the daemons' public keys; only messages they signed are copied into the feed. */
  static async open(store: JetStreamEventStore, keys: PublicKeys, logger: Logger, retryDelayMs = 1000): Promise<RevocationRelay> {
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
    return new RevocationRelay(store, keys, logger, stream, retryDelayMs);
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
  }

  /** The source sequence of the last revocation this relay saw in the feed (its own or another daemon's). */
  get position(): number {
    return this.relayed;
  }

  /** Where the feed stands: its last sequence, and the source sequence of its last copy. */
  /**
   * Only what a keyledger daemon signed goes into the feed (the chain is the projector's business).
   * A key not in the registry yet (a daemon that just started) is waited for before a message
   * counts as forged: the follower tries the message again shortly.
   */
  private async authentic(message: JsMsg): Promise<boolean> {
    let problem: string | null;
    try {
      const envelope = decodeEnvelope(message.data);
      problem = hashProblem(envelope);
      // An event this daemon sealed itself (same hash, same signature) needs no Ed25519 check.
      if (problem === null && !this.store.sealedHere(envelope)) {
        const publicKey = await this.keys.publicKey(envelope.signingKeyId);
        if (publicKey === null && this.patience.stillWaiting(message.seq)) throw new KeyNotYetKnown(message.seq);
        problem = signatureProblem(envelope, publicKey);
      }
    } catch (error) {
      if (error instanceof KeyNotYetKnown) throw error; // the follower tries this message again shortly
      problem = error instanceof Error ? error.message : String(error);
    }
    if (problem !== null) this.logger.error({ seq: message.seq, problem }, "not relaying a message no keyledger daemon signed");
    return problem === null;
  }

  private async resumeAfter(): Promise<number> {
    const last = await this.store.manager.streams.getMessage(this.stream, { last_by_subj: REVOCATION_SUBJECTS[0]! });
    this.feedSeq = last?.seq ?? 0;
    this.relayed = Number(last?.header?.get(SOURCE_SEQ_HEADER) ?? 0);
    return this.relayed;
  }

  private async onMessage(message: JsMsg): Promise<FollowStep> {
    const type = eventTypeOf(message);
    const accountId = accountIdOfSubject(message.subject);
    if (type === null || !REVOCATION_EVENT_TYPES.has(type) || accountId === null) return "next";
    if (!(await this.authentic(message))) return "next";
    const hdrs = headers();
    hdrs.set(SOURCE_SEQ_HEADER, String(message.seq));
    hdrs.set("Kl-Event-Type", type);
    try {
      const ack = await this.store.jetstream.publish(revocationSubject(accountId, type), message.data, {
        msgID: `revocation:${message.seq}`,
        expect: { lastSequence: this.feedSeq },
        headers: hdrs,
        timeout: this.store.options.publishTimeoutMs,
      });
      this.feedSeq = ack.seq;
      this.relayed = message.seq;
      return "next";
    } catch (error) {
      // Another daemon relayed past this point: start again from what the feed holds.
      if (isWrongLastSequence(error)) return "restart";
      throw error;
    }
  }
}

class KeyNotYetKnown extends Error {
  constructor(seq: number) {
    super(`message ${seq}: signing key not registered (yet)`);
    this.name = "KeyNotYetKnown";
  }
}

function eventTypeOf(message: JsMsg): EventType | null {
  const fromHeader = message.headers?.get("Kl-Event-Type");
  if (fromHeader !== undefined && fromHeader !== "") return fromHeader as EventType;
  try {
    return decodeEnvelope(message.data).type;
  } catch {
    return null;
  }
}
