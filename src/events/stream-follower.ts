import { DeliverPolicy, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { JetStreamEventStore } from "./event-store.js";
import { ALL_EVENTS_FILTER } from "./subjects.js";

/** What a follower does with one message: go on, or start again from `resumeAfter()`. */
export type FollowStep = "next" | "restart";

export interface FollowerHandlers {
  /** The stream sequence after which to (re)start; asked at every (re)start. */
  readonly resumeAfter: () => Promise<number>;
  readonly onMessage: (message: JsMsg) => Promise<FollowStep>;
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
  ) {}

  start(): void {
    this.stopping = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.running;
  }

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
      filter_subjects: ALL_EVENTS_FILTER,
      ...(after === 0
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
    });
    this.messages = await consumer.consume({ max_messages: 256 });
    if (this.stopping) await this.messages.close();
    this.failure = null;
    for await (const message of this.messages) {
      if ((await this.handlers.onMessage(message)) === "restart") {
        await this.messages.close();
        return;
      }
    }
  }
}
