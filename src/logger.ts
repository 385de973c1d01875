import pino, { type DestinationStream, type Logger } from "pino";
import type { LogFormat } from "./config.js";
import { prettyDestination } from "./log-pretty.js";

/**
 * Every path where a credential could appear in a log line. Secrets are also kept out of log calls
 * by construction (no route logs a body); this list is the second line of defence.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['x-api-key']",
  "res.headers['set-cookie']",
  "headers.authorization",
  "authorization",
  "key",
  "apiKey",
  "secret",
  "token",
  "accessToken",
  "signingKey",
  "password",
  "*.key",
  "*.apiKey",
  "*.secret",
  "*.token",
  "*.accessToken",
  "*.signingKey",
  "*.password",
  "*.authorization",
  "body",
  "*.body",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: "keyledger" },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { req: requestSummary },
    },
    destination,
  );
}

/**
 * The daemon's standard output, written asynchronously: under load, lines that arrive while a
 * write is under way go out together in the next one, instead of one system call each. Whatever
 * is still buffered is written synchronously when the process exits (process.exit included); only
 * a kill -9 can lose the last lines.
 */
export function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false });
  process.on("exit", () => {
    try {
      stream.flushSync();
    } catch {
      // nothing more can be done while exiting
    }
  });
  return stream;
}

/** The daemon's log output in `format`: JSON lines as pino writes them, or those made readable. */
export function daemonOutput(format: LogFormat): DestinationStream {
  const stdout = bufferedStdout();
  return format === "pretty" ? prettyDestination(stdout) : stdout;
}

/** What a request log line shows: no headers, and the path without its query and without a credential in it. */
function requestSummary(request: { method?: string; url?: string; ip?: string }): Record<string, unknown> {
  return { method: request.method, path: safePath(request.url ?? ""), remoteAddress: request.ip };
}

/**
 * A request path fit for a log line or an error message: without its query (where a careless
 * client may put a key), and with every segment that could be a credential masked: anything longer
 * than an id or a name can be (64: every API key and access token is), or the start of an API key.
 */
export function safePath(url: string): string {
  return url
    .split("?")[0]!
    .split("/")
    .map((segment) => (mayBeCredential(segment) ? "[redacted]" : segment))
    .join("/");
}

function mayBeCredential(segment: string): boolean {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // not percent-encoding: judged as it is
  }
  return decoded.length > 64 || /^kl_[0-9A-Z]{26}_/i.test(decoded);
}
