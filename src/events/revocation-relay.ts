import { headers } from "@nats-io/transport-node";
import { DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { REVOCATION_EVENT_TYPES, type EventType } from "../domain/index.js";
import { decodeEnvelope } from "./envelope.js";
import type { JetStreamEventStore } from "./event-store.js";
import { translate } from "./nats-errors.js";
import { ALL_EVENTS_FILTER, accountIdOfSubject, REVOCATION_SUBJECTS, revocationStreamName, revocationSubject } from "./subjects.js";

const WRONG_LAST_SEQUENCE = 10071;
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
  private messages: ConsumerMessages | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private relayed = 0;

  private constructor(
    private readonly store: JetStreamEventStore,
    private readonly logger: Logger,
    readonly stream: string,
    private readonly retryDelayMs: number,
  ) {}

  static async open(store: JetStreamEventStore, logger: Logger, retryDelayMs = 1000): Promise<RevocationRelay> {
    const stream = revocationStreamName(store.options.stream);
    try {
      await store.manager.streams.info(stream);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw translate(error, "opening the revocation feed");
      await store.manager.streams
        .add({
          name: stream,
          subjects: REVOCATION_SUBJECTS,
          num_replicas: store.options.replicas,
          duplicate_window: store.options.duplicateWindowMs * 1_000_000,
          deny_delete: true,
          deny_purge: true,
        })
        .catch((addError: unknown) => {
          // Another daemon created it first.
          if (!(addError instanceof JetStreamApiError && addError.code === 10058)) throw translate(addError, "creating the revocation feed");
        });
    }
    return new RevocationRelay(store, logger, stream, retryDelayMs);
  }

  start(): void {
    this.stopping = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.running;
  }

  /** The source sequence of the last revocation this relay saw in the feed (its own or another daemon's). */
  get position(): number {
    return this.relayed;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.follow();
      } catch (error) {
        if (this.stopping) break;
        this.logger.warn({ err: error }, "revocation relay interrupted; resuming from the feed");
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      }
    }
  }

  /** Resumes after the last relayed event and copies revocations until the feed moves under it. */
  private async follow(): Promise<void> {
    const last = await this.store.manager.streams.getMessage(this.stream, { last_by_subj: REVOCATION_SUBJECTS[0]! });
    let feedSeq = last?.seq ?? 0;
    this.relayed = Number(last?.header?.get(SOURCE_SEQ_HEADER) ?? 0);
    const consumer = await this.store.jetstream.consumers.get(this.store.options.stream, {
      filter_subjects: ALL_EVENTS_FILTER,
      ...(this.relayed === 0
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.relayed + 1 }),
    });
    this.messages = await consumer.consume({ max_messages: 256 });
    if (this.stopping) await this.messages.close();
    for await (const message of this.messages) {
      const type = eventTypeOf(message);
      if (type === null || !REVOCATION_EVENT_TYPES.has(type)) continue;
      const accountId = accountIdOfSubject(message.subject);
      if (accountId === null) continue;
      const hdrs = headers();
      hdrs.set(SOURCE_SEQ_HEADER, String(message.seq));
      hdrs.set("Kl-Event-Type", type);
      try {
        const ack = await this.store.jetstream.publish(revocationSubject(accountId, type), message.data, {
          msgID: `revocation:${message.seq}`,
          expect: { lastSequence: feedSeq },
          headers: hdrs,
          timeout: this.store.options.publishTimeoutMs,
        });
        feedSeq = ack.seq;
        this.relayed = message.seq;
      } catch (error) {
        // Another daemon relayed past this point: start again from what the feed holds.
        if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
          await this.messages.close();
          return;
        }
        throw error;
      }
    }
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
