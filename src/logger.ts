import pino, { type DestinationStream, type Logger } from "pino";

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

/** What a request log line shows: no headers, and the path without its query (where a careless client may put a key). */
function requestSummary(request: { method?: string; url?: string; ip?: string }): Record<string, unknown> {
  return { method: request.method, path: request.url?.split("?")[0], remoteAddress: request.ip };
}
