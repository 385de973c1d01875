import { isUtf8 } from "node:buffer";
import { canonicalJson } from "../signing/index.js";
import type { RawMessage } from "./message.js";

/**
 * The evidence bundle: a ledger's whole history (key statements, events, checkpoints) in one NDJSON
 * file that an auditor checks offline. Its bytes are specified in docs/evidence-bundle.md; this file
 * writes them, `src/audit/` reads and checks them.
 *
 *   {"format":"keyledger-evidence","version":1,"stream":…,"head":…,"anchor":…,"exportedAt":…}
 *   {"seq":…,"subject":"kl.keys","time":…,"data":…}             every key statement, then
 *   {"seq":…,"subject":"kl.acct.…","time":…,"data":…}           every event and checkpoint
 *   {"end":{"head":…,"eventCount":…,"digest":…,"statements":…,"checkpoints":…,"signingKeyId":…,"signature":…}}
 */
export const BUNDLE_FORMAT = "keyledger-evidence";
export const BUNDLE_VERSION = 1;

export interface BundleHeader {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: number;
  /** The JetStream stream the bundle was exported from. */
  readonly stream: string;
  /** The stream's last sequence when the export started: the bundle holds what came up to it. */
  readonly head: number;
  /** The trust anchor the exporting daemon held the ledger to (null: no genesis counts). */
  readonly anchor: string | null;
  readonly exportedAt: string;
}

/** The last line: what the lines above it must add up to, signed by the exporting daemon. */
export interface BundleSeal {
  readonly head: number;
  /** Event messages (`kl.acct.*`) in the bundle. */
  readonly eventCount: number;
  /** The running digest of those event messages (src/format/digest.ts). */
  readonly digest: string;
  /** Key statement lines (`kl.keys`). */
  readonly statements: number;
  /** Checkpoint lines (`kl.checkpoint`). */
  readonly checkpoints: number;
  /** The key that signed the seal; null when the daemon's key was not trusted (an unsealed bundle). */
  readonly signingKeyId: string | null;
  /** Ed25519 signature (base64url, no padding) of `sealBytes`; null when unsealed. */
  readonly signature: string | null;
}

export function headerLine(header: BundleHeader): string {
  const { format, version, stream, head, anchor, exportedAt } = header;
  return `${JSON.stringify({ format, version, stream, head, anchor, exportedAt })}\n`;
}

/**
 * One stored message as a line. The payload goes as a JSON string when it is valid UTF-8 (the
 * string's UTF-8 encoding gives back the very bytes) and as base64 (`data64`) when it is not.
 */
export function messageLine(message: RawMessage): string {
  const bytes = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
  const time = message.time.toISOString();
  return isUtf8(bytes)
    ? `${JSON.stringify({ seq: message.seq, subject: message.subject, time, data: bytes.toString("utf8") })}\n`
    : `${JSON.stringify({ seq: message.seq, subject: message.subject, time, data64: bytes.toString("base64") })}\n`;
}

/** What the seal's signature covers: the canonical JSON of the seal without `signature`. */
export function sealBytes(seal: Omit<BundleSeal, "signature">): Buffer {
  const { head, eventCount, digest, statements, checkpoints, signingKeyId } = seal;
  return Buffer.from(canonicalJson({ head, eventCount, digest, statements, checkpoints, signingKeyId }), "utf8");
}

export function sealLine(seal: BundleSeal): string {
  const { head, eventCount, digest, statements, checkpoints, signingKeyId, signature } = seal;
  return `${JSON.stringify({ end: { head, eventCount, digest, statements, checkpoints, signingKeyId, signature } })}\n`;
}
