import type { DestinationStream } from "pino";

/**
 * Log lines for a person at a terminal (`--log-format pretty`): each JSON line pino wrote becomes
 *
 *     12:34:56.789 INFO  keyledger is listening  url=http://127.0.0.1:8080 stream=KEYLEDGER
 *
 * the time (UTC, as in the JSON), the level, the message, then every other field as key=value
 * (objects as compact JSON); an error's message and stack follow on indented lines. Only what pino
 * already serialized is formatted, so whatever its redaction censored stays censored. A line that
 * is no log record passes through unchanged.
 */
export function prettyDestination(target: DestinationStream): DestinationStream {
  return { write: (chunk: string) => target.write(prettyLines(chunk)) };
}

/** Formats every line of `chunk` (pino writes one record a line, each ending in a newline). */
export function prettyLines(chunk: string): string {
  return chunk
    .split("\n")
    .map((line) => (line === "" ? line : prettyLine(line)))
    .join("\n");
}

const LEVELS: Readonly<Record<number, string>> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** Fields shown in their own place, or not at all: `service` is the same on every line. */
const NOT_AS_FIELDS = new Set(["time", "level", "msg", "service"]);

/** Characters that could break the line or command the terminal (escapes, bidirectional overrides). */
const AN_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/;
const EVERY_UNSAFE = new RegExp(AN_UNSAFE.source, "g");

interface SerializedError {
  readonly message: string;
  readonly stack: string;
  readonly [field: string]: unknown;
}

export function prettyLine(line: string): string {
  const record = parseRecord(line);
  if (record === undefined) return line;
  const fields: string[] = [];
  const details: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (NOT_AS_FIELDS.has(key)) continue;
    if (isSerializedError(value)) {
      fields.push(`${visible(key)}=${errorSummary(value)}`);
      details.push(...errorLines(value));
    } else {
      fields.push(`${visible(key)}=${formatValue(value)}`);
    }
  }
  const head = [time(record.time), level(record.level), message(record.msg)].filter((part) => part !== "").join(" ");
  const tail = fields.length === 0 ? "" : `  ${fields.join(" ")}`;
  return head + tail + details.map((detail) => `\n    ${detail}`).join("");
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "level" in value)
      return value as Record<string, unknown>;
  } catch {
    // not JSON: passed through as it is
  }
  return undefined;
}

function time(value: unknown): string {
  if (typeof value === "number") return new Date(value).toISOString().slice(11, 23);
  if (typeof value !== "string") return "";
  return /^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(value)?.[1] ?? visible(value);
}

function level(value: unknown): string {
  const label = typeof value === "number" ? (LEVELS[value] ?? `L${value}`) : visible(String(value).toUpperCase());
  return label.padEnd(5);
}

function message(value: unknown): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return hasUnsafe(text) ? quote(text) : text;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return value !== "" && !/[\s"=\\]/.test(value) && !hasUnsafe(value) ? value : quote(value);
  if (typeof value === "object" && value !== null) return visible(JSON.stringify(value));
  return String(value);
}

function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== "object" || value === null) return false;
  const fields = value as Record<string, unknown>;
  return typeof fields.message === "string" && typeof fields.stack === "string";
}

/** What stands after `err=`: its type, or all it holds besides its message and stack. */
function errorSummary(error: SerializedError): string {
  const { message: _message, stack: _stack, ...rest } = error;
  const keys = Object.keys(rest);
  return keys.length === 1 && typeof rest.type === "string" ? formatValue(rest.type) : formatValue(rest);
}

/**
 * The stack, whose first line names the error and its message (pino appends the causes' stacks:
 * "caused by: …"); the message first when the stack does not show it (it was changed since).
 */
function errorLines(error: SerializedError): string[] {
  const shown = error.message.split(": ").every((part) => error.stack.includes(part));
  const stack = error.stack === "" ? [] : error.stack.split("\n");
  return [...(shown ? [] : error.message.split("\n")), ...stack].map((line) => visible(line));
}

function hasUnsafe(text: string): boolean {
  return AN_UNSAFE.test(text);
}

/** The text with every unsafe character written as a \u escape. */
function visible(text: string): string {
  return text.replace(EVERY_UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function quote(text: string): string {
  return visible(JSON.stringify(text));
}
