import { isIP } from "node:net";
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

/** The fields of an access line: nothing but these, each made safe where it is built. */
export interface AccessLine {
  readonly reqId: string;
  readonly req: { readonly method: string; readonly path: string; readonly remoteAddress: string | undefined };
  readonly res: { readonly statusCode: number };
  readonly responseTime: number;
}

/** Writes one access line per request on the logger's own destination, at its level. */
export type AccessLineWriter = (line: AccessLine) => void;

/**
 * The access lines' writer: on the logger's destination, at its level, the same JSON as pino
 * writes (level, time, service, then the fields), built directly. Under load, pino's redaction walk
 * over 25 paths and its generic serialisation were a third of a verification's cost. An access line
 * holds only the fields of `AccessLine`, and its path comes from `safePath`; every other line
 * still goes through `logger` and its redaction.
 */
export function accessLineWriter(logger: Logger): AccessLineWriter {
  const destination = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
  const level = pino.levels.values.info!;
  let milli = { at: Number.NaN, iso: "" };
  return (line) => {
    if (!logger.isLevelEnabled("info")) return;
    const now = Date.now();
    // The time as pino writes it, formatted once per millisecond however many lines share it.
    if (now !== milli.at) milli = { at: now, iso: new Date(now).toISOString() };
    const { req, responseTime } = line;
    // As pino would: a field without a value is left out, a number that JSON cannot hold is null.
    const address = req.remoteAddress === undefined ? "" : `,"remoteAddress":${JSON.stringify(req.remoteAddress)}`;
    destination.write(
      `{"level":${level},"time":"${milli.iso}","service":"keyledger","reqId":${JSON.stringify(line.reqId)},` +
        `"req":{"method":${JSON.stringify(req.method)},"path":${JSON.stringify(req.path)}${address}},` +
        `"res":{"statusCode":${line.res.statusCode}},"responseTime":${Number.isFinite(responseTime) ? responseTime : null},` +
        `"msg":"request completed"}\n`,
    );
  };
}

/** How long a log line may wait in the buffer before it is written (`bufferedStdout`). */
export const LOG_FLUSH_MS = 100;

/**
 * The daemon's standard output, written asynchronously and in blocks: lines gather until 4 KiB
 * are waiting or `LOG_FLUSH_MS` has passed, then go out in one system call (under load one per
 * line was a fifth of a verification's cost). Whatever is still buffered is written synchronously
 * when the process exits (process.exit included); only a kill -9 can lose the last lines, those
 * of its last `LOG_FLUSH_MS`.
 */
export function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS });
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

/** The client's address as an access line shows it: an IP address, or a placeholder (never what a header said). */
export function loggedAddress(ip: string | undefined): string {
  return ip !== undefined && isIP(ip) !== 0 ? ip : "[not an address]";
}

/**
 * A request path fit for a log line or an error message: without its query (where a careless
 * client may put a key), and with every segment that could be a credential masked: anything longer
 * than an id or a name can be (64: every API key and access token is), or the start of an API key.
 */
export function safePath(url: string): string {
  // Most paths: short, no query, nothing encoded, no API key's prefix. Then no segment can be one.
  if (url.length <= 64 && !MAY_HIDE_CREDENTIAL.test(url)) return url;
  return url
    .split("?")[0]!
    .split("/")
    .map((segment) => (mayBeCredential(segment) ? "[redacted]" : segment))
    .join("/");
}

const MAY_HIDE_CREDENTIAL = /[?%]|kl_/i;

function mayBeCredential(segment: string): boolean {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // not percent-encoding: judged as it is
  }
  return decoded.length > 64 || /^kl_[0-9A-Z]{26}_/i.test(decoded);
}
