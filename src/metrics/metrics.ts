import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** What the daemon's parts count themselves; read when Prometheus scrapes, never on a request's path. */
export interface MetricSources {
  /** Events this daemon appended, by event type. */
  readonly eventsAppended: () => ReadonlyMap<string, number>;
  /** Stream sequences the read model is behind the stream (null: not known yet). */
  readonly projectionLag: () => number | null;
  readonly projectorPosition: () => number;
  /** Events the projector applied since the daemon started, and the LevelDB batches it wrote them in. */
  readonly projectorApplied: () => number;
  readonly projectorBatches: () => number;
  readonly schedulerRuns: () => number;
  readonly schedulerExpiries: () => number;
  readonly natsConnected: () => boolean;
  /** Event messages the revocation relay has looked at since the daemon started. */
  readonly relayExamined: () => number;
  /** The last event message the revocation relay has looked at. */
  readonly relayPosition: () => number;
}

/**
 * The daemon's Prometheus metrics (`GET /metrics`), in a registry of its own: verifications by
 * result, request latency by route, live event streams open and refused, events appended by type,
 * projection lag, scheduler runs and expiries, the NATS connection, and Node's process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly verifications: Counter<"result">;
  readonly requestDuration: Histogram<"method" | "route" | "status_code">;
  /** Set by the live tail's route as its streams open and end (the count lives in the route's slots). */
  readonly eventStreamsOpen: Gauge;
  readonly eventStreamsRefused: Counter<"reason">;
  /** Counted by the audit budget (AuditPacer) as audit work waits for it. */
  readonly auditWaited: Counter;
  /** Verifications the fast path answered, and those it handed to the route (see api/fast-verify.ts). */
  readonly verifyFastPath: Counter<"outcome">;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "keyledger_" });
    this.verifications = new Counter({
      name: "keyledger_verifications_total",
      help: "API keys checked by POST /v1/auth/verify, by result (valid, or the refusal's code)",
      labelNames: ["result"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "keyledger_http_request_duration_seconds",
      help: "HTTP request latency, by method, route pattern and status code",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.eventStreamsOpen = new Gauge({
      name: "keyledger_event_streams_open",
      help: "Live event streams (GET /v1/events/stream) this daemon holds open",
      registers,
    });
    this.eventStreamsRefused = new Counter({
      name: "keyledger_event_streams_refused_total",
      help: "Live event streams refused with 429, by the cap that was full (principal, or daemon)",
      labelNames: ["reason"],
      registers,
    });
    this.auditWaited = new Counter({
      name: "keyledger_audit_waited_seconds_total",
      help: "Time audit work (as-of reads, states, diffs, audits) waited for the daemon's audit budget while other requests came in",
      registers,
    });
    this.verifyFastPath = new Counter({
      name: "keyledger_verify_fast_path_total",
      help: "POST /v1/auth/verify requests answered by the fast path (answered) or handed to the route after it began (handed_over)",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["answered", "handed_over"]) this.verifyFastPath.inc({ outcome }, 0);
    // Both reasons from the start, so that a rate over them is defined before the first refusal.
    for (const reason of ["principal", "daemon"]) this.eventStreamsRefused.inc({ reason }, 0);
    new Counter({
      name: "keyledger_events_appended_total",
      help: "Events this daemon appended to the stream, by type",
      labelNames: ["type"],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of sources.eventsAppended()) this.inc({ type }, count);
      },
    });
    new Gauge({
      name: "keyledger_projection_lag",
      help: "Stream sequences between the stream's last event and this daemon's read model (-1: not known yet)",
      registers,
      collect() {
        this.set(sources.projectionLag() ?? -1);
      },
    });
    new Gauge({
      name: "keyledger_projection_position",
      help: "The last stream sequence applied to this daemon's read model",
      registers,
      collect() {
        this.set(sources.projectorPosition());
      },
    });
    new Counter({
      name: "keyledger_projection_events_applied_total",
      help: "Events the projector applied to this daemon's read model since it started",
      registers,
      collect() {
        this.reset();
        this.inc(sources.projectorApplied());
      },
    });
    new Counter({
      name: "keyledger_projection_batches_total",
      help: "LevelDB batches the projector wrote since the daemon started (events that arrive together share one: group commit)",
      registers,
      collect() {
        this.reset();
        this.inc(sources.projectorBatches());
      },
    });
    new Counter({
      name: "keyledger_scheduler_runs_total",
      help: "Ticks of the retention scheduler",
      registers,
      collect() {
        this.reset();
        this.inc(sources.schedulerRuns());
      },
    });
    new Counter({
      name: "keyledger_scheduler_expiries_total",
      help: "Retained secrets the scheduler closed (ApiKeyRetentionExpired appended by this daemon)",
      registers,
      collect() {
        this.reset();
        this.inc(sources.schedulerExpiries());
      },
    });
    new Counter({
      name: "keyledger_revocation_relay_examined_total",
      help: "Event messages the revocation relay looked at since start (a restart goes on from its mark)",
      registers,
      collect() {
        this.reset();
        this.inc(sources.relayExamined());
      },
    });
    new Gauge({
      name: "keyledger_revocation_relay_position",
      help: "The stream sequence of the last event message the revocation relay has looked at",
      registers,
      collect() {
        this.set(sources.relayPosition());
      },
    });
    new Gauge({
      name: "keyledger_nats_connected",
      help: "1 while the NATS connection is up, 0 otherwise",
      registers,
      collect() {
        this.set(sources.natsConnected() ? 1 : 0);
      },
    });
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
