import pino from "pino";
import { auditAdmission, loadConsoleFiles } from "../../src/api/index.js";
import type { AppDeps } from "../../src/api/deps.js";
import { Metrics } from "../../src/metrics/index.js";

/** Only what registering the routes touches; a handler that ran would fail on the rest, loudly. */
export function registrationDeps(): AppDeps {
  return {
    logger: pino({ level: "silent" }),
    trustProxy: false,
    streamLimits: { perPrincipal: 1, total: 1 },
    audits: auditAdmission({ perPrincipal: 1, total: 1 }),
    consoleFiles: loadConsoleFiles(),
    metrics: new Metrics({
      eventsAppended: () => new Map(),
      projectionLag: () => 0,
      projectorPosition: () => 0,
      projectorApplied: () => 0,
      projectorBatches: () => 0,
      schedulerRuns: () => 0,
      schedulerExpiries: () => 0,
      natsConnected: () => false,
      relayExamined: () => 0,
      relayPosition: () => 0,
    }),
  } as Partial<AppDeps> as AppDeps;
}
