import { spawn } from "node:child_process";
import { resolve } from "node:path";
import autocannon from "autocannon";
import { waitUntil } from "../../test/helpers/http.js";
import { freePort } from "../../test/helpers/ports.js";

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Every answer counted. */
  readonly requests: number;
}

/** autocannon against one route: `connections` keep-alive connections for `seconds`. */
export async function httpLoad(options: {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections,
    duration: options.seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

/**
 * A fastify baseline as its own process, answering `body` on POST /v1/auth/verify: `bare` a
 * constant, `schema` the verification's shape without the daemon's features (schema-fastify.mjs).
 */
export async function startBareFastify(
  body: string,
  kind: "bare" | "schema" = "bare",
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const script = resolve(import.meta.dirname, `../baselines/${kind}-fastify.mjs`);
  const child = spawn(process.execPath, [script, String(port)], {
    env: { ...process.env, BENCH_CONSTANT_BODY: body },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  await waitUntil(() => output.includes("listening"), 20_000, 20);
  const exited = new Promise((done) => child.once("exit", done));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
