import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import type { FeedState, NatsConnectOptions } from "./nats-options.js";
import { describeError, redactor } from "./redaction.js";
import { readRevocation, REVOCATION_FILTER, revocationStreamName, type Revocation } from "./revocation-contract.js";
import type { VerifierLogger } from "./verifier-logger.js";

export interface RevocationFeedOptions {
  readonly servers: string | string[];
  /** The event stream's name; the feed is `<stream>_REVOCATIONS`. */
  readonly stream: string;
  /** Passed to `connect` of `@nats-io/transport-node` (credentials, TLS, …) after the defaults. */
  readonly connectOptions: NatsConnectOptions;
  /** The consumer's idle heartbeat; three missed ones make the feed not live until it restarted. */
  readonly heartbeatMs: number;
  readonly retryDelayMs: number;
  readonly logger: VerifierLogger;
  readonly onRevocation: (revocation: Revocation) => void;
  /** The feed no longer holds messages this follower needed (or was recreated): forget everything. */
  readonly onGap: () => void;
  readonly onStateChange?: (state: FeedState) => void;
}

/**
 * Follows `<stream>_REVOCATIONS` with an ordered consumer. It starts at the feed's end (what came
 * before concerns nothing cached yet), and after any interruption (a lost connection, a
 * reconnection, missing heartbeats, a failed consumer) it starts again from the sequence after the
 * last one it saw, so nothing is missed; it is `live` again once it has read up to the feed's last
 * sequence as of that restart. A feed that lost messages it needed calls `onGap`.
 */
export class RevocationFeed {
  private nc: NatsConnection | null = null;
  private messages: ConsumerMessages | null = null;
  private running: Promise<void> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private wake: (() => void) | null = null;
  private current: FeedState = "connecting";
  /** The feed sequence of the last message handled; null until the first start found the feed's end. */
  private seen: number | null = null;
  private target = 0;
  private lastHeard = 0;
  private attempt = 0;
  private failures = 0;
  private readonly redact: (text: string) => string;

  constructor(private readonly options: RevocationFeedOptions) {
    const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
    const { token, user, pass } = options.connectOptions;
    this.redact = redactor(text(token), text(user), text(pass));
  }

  private get closed(): boolean {
    return this.current === "closed";
  }

  get state(): FeedState {
    return this.current;
  }

  /** The feed sequence of the last revocation seen (0 when the feed was empty at start). */
  get position(): number {
    return this.seen ?? 0;
  }

  /** Whether every revocation recorded up to a few heartbeats ago has been handed to `onRevocation`. */
  get live(): boolean {
    return this.current === "live" && Date.now() - this.lastHeard <= 3 * this.options.heartbeatMs;
  }

  start(): void {
    this.running ??= this.run();
    this.watchdog = setInterval(() => this.checkHeartbeat(), this.options.heartbeatMs);
    unref(this.watchdog);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.setState("closed");
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.wake?.();
    await this.messages?.close().catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        this.nc ??= await this.connect();
        await this.follow(this.nc);
      } catch (error) {
        if (this.closed) break;
        this.setState(this.nc === null || this.nc.isClosed() ? "connecting" : "catching-up");
        // The first failure of a streak is a warning; the retries that follow it are details.
        this.failures += 1;
        const log = this.failures === 1 ? this.options.logger.warn : this.options.logger.debug;
        log?.call(
          this.options.logger,
          { error: this.redact(describeError(error)), position: this.position, failures: this.failures },
          "revocation feed interrupted; retrying",
        );
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          unref(setTimeout(resolve, this.options.retryDelayMs));
        });
      }
    }
  }

  private async connect(): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.options.servers,
      name: "keyledger-verifier",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
      ...(this.options.connectOptions as Partial<NodeConnectionOptions>),
    });
    if (this.closed) {
      await nc.close();
      throw new Error("closed");
    }
    void this.watchConnection(nc);
    return nc;
  }

  /** A lost connection ends `live` at once; a reconnection restarts the consumer from the last sequence seen. */
  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        this.setState("connecting");
        this.options.logger.warn?.({ position: this.position }, "revocation feed disconnected; cached answers are not trusted");
      } else if (status.type === "reconnect") {
        this.restart();
      }
    }
    // closed for good (not by us): connect afresh
    if (this.nc === nc) this.nc = null;
    this.restart();
  }

  private checkHeartbeat(): void {
    if (this.current !== "live" && this.current !== "catching-up") return;
    if (Date.now() - this.lastHeard <= 3 * this.options.heartbeatMs) return;
    this.options.logger.warn?.({ position: this.position }, "revocation feed silent; restarting it");
    this.restart();
  }

  /** Ends the current consumer; `follow` returns, and `run` starts it again from the last sequence seen. */
  private restart(): void {
    if (this.closed) return;
    this.attempt += 1;
    if (this.current === "live") this.setState("catching-up");
    void this.messages?.close().catch(() => undefined);
    this.wake?.();
  }

  private async follow(nc: NatsConnection): Promise<void> {
    const attempt = this.attempt;
    this.lastHeard = Date.now();
    this.setState("catching-up");
    const feed = revocationStreamName(this.options.stream);
    const { state } = await (await jetstreamManager(nc, { checkAPI: false })).streams.info(feed);
    if (this.seen === null) {
      this.seen = state.last_seq;
    } else if (state.last_seq < this.seen || (state.first_seq > this.seen + 1 && state.last_seq >= state.first_seq)) {
      this.options.logger.warn?.(
        { position: this.seen, first: state.first_seq, last: state.last_seq },
        "the revocation feed no longer holds what this verifier missed; forgetting every cached answer",
      );
      this.options.onGap();
      this.seen = state.last_seq;
    }
    this.target = state.last_seq;
    const consumer = await jetstream(nc).consumers.get(feed, {
      filter_subjects: REVOCATION_FILTER,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.seen + 1,
    });
    const messages = await consumer.consume({
      max_messages: 256,
      idle_heartbeat: this.options.heartbeatMs,
      expires: Math.max(4 * this.options.heartbeatMs, 1000),
    });
    this.messages = messages;
    if (attempt !== this.attempt || this.closed) {
      await messages.close();
      return;
    }
    this.lastHeard = Date.now();
    void this.watchHeartbeats(messages);
    this.checkCaughtUp(attempt);
    for await (const message of messages) {
      this.lastHeard = Date.now();
      if (message.seq <= this.seen) continue;
      const revocation = readRevocation(message.seq, message.subject, message.data);
      if (revocation !== null) this.options.onRevocation(revocation);
      this.seen = message.seq;
      this.checkCaughtUp(attempt, message.info.pending);
    }
  }

  private async watchHeartbeats(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === "heartbeat") this.lastHeard = Date.now();
    }
  }

  private checkCaughtUp(attempt: number, pending = Number.POSITIVE_INFINITY): void {
    if (attempt !== this.attempt || this.current !== "catching-up") return;
    if ((this.seen ?? 0) >= this.target || pending === 0) {
      this.failures = 0;
      this.setState("live");
      this.options.logger.info?.({ position: this.position }, "revocation feed live");
    }
  }

  private setState(state: FeedState): void {
    if (this.current === state || this.closed) return;
    this.current = state;
    this.options.onStateChange?.(state);
  }
}

/** Lets the process exit while only this timer is left (Node); a browser's timers are numbers. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
