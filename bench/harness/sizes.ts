/** How big each benchmark runs: the full run (`npm run bench`) or a smoke run that only shows it still works. */
export interface BenchSizes {
  /** Events in the large history (replay, start-up, memory, audit). */
  readonly events: number;
  /** The earlier point at which start-up is measured too. */
  readonly earlyEvents: number;
  /** The short history the questions about the past are first asked on (rows 11). */
  readonly shortHistory: number;
  /** How many times each question about the past is asked. */
  readonly probeSamples: number;
  /** How long verifications are timed, quiet and under audit load (row 12). */
  readonly verifyLoadSeconds: number;
  readonly keysPerAccount: number;
  /** The long history has a signed checkpoint after every this many events. */
  readonly checkpointEvery: number;
  /** Distinct keys verified against the large read model (memory row). */
  readonly distinctVerifications: number;
  readonly httpConnections: number;
  readonly httpSeconds: number;
  readonly writeSeconds: number;
  readonly inProcessMs: number;
  readonly revocations: number;
  /** Envelopes the raw audit loop checks (its rate is what counts). */
  readonly auditSample: number;
  readonly startupRuns: number;
  /** Runs of a client command (row C1) and of `npm start` (row C2). */
  readonly cliRuns: number;
  readonly startRuns: number;
  /** Only these rows (1, 2, 3, 4–7, 9–12 as one, 8, E), from KEYLEDGER_BENCH_ONLY=1,3; every row when absent. */
  readonly only?: ReadonlySet<string>;
}

/** The rows KEYLEDGER_BENCH_ONLY names, if it is set. */
export function onlyFromEnvironment(value = process.env.KEYLEDGER_BENCH_ONLY): ReadonlySet<string> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return new Set(value.split(",").map((id) => id.trim()));
}

export const FULL: BenchSizes = {
  events: 1_100_000,
  earlyEvents: 100_000,
  shortHistory: 10_000,
  // 100: a p99 of 40 samples is their maximum.
  probeSamples: 100,
  verifyLoadSeconds: 10,
  keysPerAccount: 10,
  checkpointEvery: 10_000,
  distinctVerifications: 20_000,
  httpConnections: 100,
  httpSeconds: 5,
  writeSeconds: 3,
  inProcessMs: 1000,
  revocations: 1000,
  auditSample: 50_000,
  startupRuns: 5,
  cliRuns: 15,
  startRuns: 3,
};

export const SMOKE: BenchSizes = {
  events: 2_200,
  earlyEvents: 1_100,
  shortHistory: 550,
  probeSamples: 3,
  verifyLoadSeconds: 1,
  keysPerAccount: 10,
  checkpointEvery: 200,
  distinctVerifications: 50,
  httpConnections: 10,
  httpSeconds: 1,
  writeSeconds: 0.3,
  inProcessMs: 50,
  revocations: 10,
  auditSample: 200,
  startupRuns: 1,
  cliRuns: 1,
  startRuns: 1,
};
