import { DeliverPolicy, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { JetStreamEventStore } from "./event-store.js";
import { ALL_EVENTS_FILTER } from "../format/index.js";

/**
 * How long each pull waits on the server; the server sends idle heartbeats at half of it, so a
 * consumer that died with its server shows within two of them (the library's default is 30 s).
 */
const PULL_EXPIRES_MS = 5_000;
/**
 * Messages asked for ahead of the reader, and how few may be left before more are asked for. Each
 * pull request is a write to the socket: with the library's defaults for 256 messages (one pull
 * per 64 messages), a rebuild of 200,000 events spent 1.3 s of its 16 s in those writes; one pull
 * per 1,536 messages made the rebuild 14% faster. About 2 MB of messages waiting at most.
 */
const PULL_WINDOW = 2048;
const PULL_REFILL_AT = 512;

/** The filter of a follower of every message of the stream, whatever its subject. */
export const WHOLE_STREAM = "all";

/** What a follower does with one message: go on, or start again from `resumeAfter()`. */
export type FollowStep = "next" | "restart";

export interface FollowerHandlers {
  /** The stream sequence after which to (re)start; asked at every (re)start. */
  readonly resumeAfter: () => Promise<number>;
  /**
   * `delivered`: how many messages after this one the client already holds (delivered by the
   * server, not handed over yet): a handler may gather those without waiting for anything.
   */
  readonly onMessage: (message: JsMsg, delivered: number) => Promise<FollowStep>;
}

/**
 * Follows the event stream in order with an ordered consumer, from a position its owner keeps,
 * and starts again from that position after any failure (a lost connection, a refused write).
 */
export class StreamFollower {
  private messages: ConsumerMessages | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private failure: Error | null = null;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly handlers: FollowerHandlers,
    private readonly logger: Logger,
    private readonly retryDelayMs = 1000,
    /** The subjects followed; "all": every message of the stream. */
    private readonly filter: string = ALL_EVENTS_FILTER,
  ) {}

  start(): void {
    this.stopping = false;
    this.stopped = null;
    void this.restartOnReconnect();
    this.running = this.run();
  }

  /** Stops following; safe to call again (it answers the same promise). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      await this.messages?.close();
      await this.running;
    })();
    return this.stopped;
  }

  private stopped: Promise<void> | null = null;

  get started(): boolean {
    return this.running !== null;
  }

  /** The error of the last attempt, until an attempt subscribes again. */
  get lastFailure(): Error | null {
    return this.failure;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.follow();
      } catch (error) {
        if (this.stopping) break;
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.logger.error({ err: this.failure }, "following the event stream failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      }
    }
  }

  private async follow(): Promise<void> {
    const after = await this.handlers.resumeAfter();
    const consumer = await this.store.jetstream.consumers.get(this.store.options.stream, {
      ...(this.filter === WHOLE_STREAM ? {} : { filter_subjects: this.filter }),
      ...(after === 0
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
    });
    const messages = await consumer.consume({
      max_messages: PULL_WINDOW,
      threshold_messages: PULL_REFILL_AT,
      expires: PULL_EXPIRES_MS,
    });
    if (this.stopping) {
      // Stopped while the consumer was being made: nobody will read these messages, and close()
      // would wait for a reader to drain them, so it is not awaited (nor kept for stop() to await).
      void messages.close().catch(() => undefined);
      return;
    }
    this.messages = messages;
    this.failure = null;
    void this.restartWhenSilent(messages);
    for await (const message of messages) {
      // Counted from the messages received and handed over: the iterator's getPending() also counts
      // the pull requests queued in it (once taken for messages, it made a rebuild wait for good).
      const delivered = Math.max(0, messages.getReceived() - messages.getProcessed());
      if ((await this.handlers.onMessage(message, delivered)) === "restart") {
        // Not awaited: closing waits for the messages already pulled to be read, and this loop,
        // their only reader, is the one leaving.
        void messages.close().catch(() => undefined);
        return;
      }
    }
  }

  /*
   * The ephemeral consumer lives on one server (in a cluster, the stream leader's when it was made).
   * When that server is lost, the client library keeps asking after the dead consumer, backing off,
   * rather than making a new one, and the follower would wait for that server to come back. So the
   * follower lets the consumer go and follows again from its own position: when the consumer misses
   * two heartbeats, and when the connection comes back after a loss.
   */

  private async restartWhenSilent(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === "heartbeats_missed") {
        await this.letGo(messages, "the event stream consumer went silent");
        return;
      }
    }
  }

  private async restartOnReconnect(): Promise<void> {
    for await (const status of this.store.connection.status()) {
      if (this.stopping) return;
      if (status.type === "reconnect" && this.messages !== null) await this.letGo(this.messages, "reconnected to NATS");
    }
  }

  private async letGo(messages: ConsumerMessages, reason: string): Promise<void> {
    if (this.stopping || this.messages !== messages) return;
    this.logger.warn({ reason }, "following the event stream again from the last position");
    await messages.close();
  }
}
