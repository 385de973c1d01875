import { BUNDLE_FORMAT, BUNDLE_VERSION, type BundleHeader, type BundleSeal, type RawMessage } from "../format/index.js";

/** What one line of a bundle (after the header) says, or why it says nothing. */
export type BundleLine =
  | { readonly kind: "message"; readonly message: RawMessage }
  | { readonly kind: "seal"; readonly seal: BundleSeal }
  /** The export failed half-way and said so in its last line. */
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "unreadable"; readonly reason: string };

const KID = /^[A-Za-z0-9_-]{16}$/;
const DIGEST = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const hasOnly = (record: Record<string, unknown>, names: readonly string[]): boolean =>
  Object.keys(record).every((name) => names.includes(name));
/** A string that is whole Unicode (no lone surrogate, which UTF-8 cannot carry). */
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first line: the header, or why it is not one this reader knows. */
export function readHeader(text: string): BundleHeader | { readonly problem: string } {
  const raw = parsed(text);
  if (!isObject(raw) || raw.format !== BUNDLE_FORMAT)
    return { problem: `the first line is not the header of a keyledger evidence bundle ("format":"${BUNDLE_FORMAT}")` };
  if (raw.version !== BUNDLE_VERSION)
    return {
      problem: `the bundle is of format version ${JSON.stringify(raw.version)}; this verifier reads version ${BUNDLE_VERSION}`,
    };
  if (
    typeof raw.stream !== "string" ||
    !isCount(raw.head) ||
    !(raw.anchor === null || (typeof raw.anchor === "string" && KID.test(raw.anchor))) ||
    typeof raw.exportedAt !== "string"
  )
    return { problem: "the header lacks a member, or has one of the wrong type (stream, head, anchor, exportedAt)" };
  return raw as unknown as BundleHeader;
}

/** Any line after the header. */
export function readLine(text: string): BundleLine {
  const raw = parsed(text);
  if (!isObject(raw)) return { kind: "unreadable", reason: "not a JSON object" };
  if ("end" in raw) return sealOf(raw);
  if ("error" in raw) {
    const error = raw.error;
    const message = isObject(error) && typeof error.message === "string" ? error.message : "no reason given";
    return { kind: "error", message: message.slice(0, 200) };
  }
  return messageOf(raw);
}

function messageOf(raw: Record<string, unknown>): BundleLine {
  const { seq, subject, time, data, data64 } = raw;
  if (!hasOnly(raw, ["seq", "subject", "time", "data", "data64"]))
    return { kind: "unreadable", reason: "a message line has only seq, subject, time and data (or data64)" };
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return { kind: "unreadable", reason: "seq is not a stream sequence" };
  if (typeof subject !== "string" || subject.length === 0) return { kind: "unreadable", reason: "subject is not a text" };
  const at = typeof time === "string" ? new Date(time) : null;
  if (at === null || Number.isNaN(at.getTime())) return { kind: "unreadable", reason: "time is not an ISO-8601 time" };
  let bytes: Uint8Array;
  if (typeof data === "string" && data64 === undefined) {
    if (!wellFormed(data)) return { kind: "unreadable", reason: "data holds a lone surrogate, which no stored UTF-8 gives" };
    bytes = Buffer.from(data, "utf8");
  } else if (typeof data64 === "string" && data === undefined) {
    const decoded = Buffer.from(data64, "base64");
    if (!BASE64.test(data64) || decoded.toString("base64") !== data64)
      return { kind: "unreadable", reason: "data64 is not canonical base64" };
    bytes = decoded;
  } else {
    return { kind: "unreadable", reason: "a message line has exactly one of data and data64, a text" };
  }
  return { kind: "message", message: { seq: seq as number, subject, time: at, data: bytes } };
}

function sealOf(raw: Record<string, unknown>): BundleLine {
  const end = raw.end;
  const shaped =
    hasOnly(raw, ["end"]) &&
    isObject(end) &&
    hasOnly(end, ["head", "eventCount", "digest", "statements", "checkpoints", "signingKeyId", "signature"]) &&
    isCount(end.head) &&
    isCount(end.eventCount) &&
    typeof end.digest === "string" &&
    DIGEST.test(end.digest) &&
    isCount(end.statements) &&
    isCount(end.checkpoints) &&
    (end.signingKeyId === null || (typeof end.signingKeyId === "string" && end.signingKeyId.length <= 64)) &&
    (end.signature === null || (typeof end.signature === "string" && end.signature.length <= 200));
  if (!shaped) return { kind: "unreadable", reason: "a seal line lacks a member, or has one of the wrong type" };
  return { kind: "seal", seal: end as unknown as BundleSeal };
}
