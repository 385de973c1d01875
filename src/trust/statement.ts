import { createHash } from "node:crypto";
import type { Actor } from "../domain/index.js";
import { canonicalJson } from "../signing/index.js";

export const STATEMENT_SCHEMA_VERSION = 1;

const KID = /^[A-Za-z0-9_-]{16}$/;
const HASH = /^[0-9a-f]{64}$/;
const STATEMENT_MEMBERS = [
  "id",
  "type",
  "schemaVersion",
  "occurredAt",
  "actor",
  "requestId",
  "data",
  "version",
  "prevHash",
  "signingKeyId",
  "hash",
  "signature",
];

/**
 * A statement about a signing key, on the ledger's own subject (`kl.keys`), chained and signed
 * like an event. The first one (version 1) is the genesis: the trust anchor enrolling itself.
 */
export interface SigningKeyEnrolled {
  readonly type: "SigningKeyEnrolled";
  readonly data: {
    /** The key's id: the first 16 base64url characters of SHA-256 of `publicKey`. */
    readonly kid: string;
    /** The raw 32-byte Ed25519 public key, base64url. */
    readonly publicKey: string;
    /** `anchor` in the genesis only; `signer` for every key enrolled after it. */
    readonly role: "anchor" | "signer";
    /**
     * A key that signed events before the genesis (a stream written before the trust root): what it
     * signed there counts too. Never for anything between the genesis and this statement.
     */
    readonly legacyHistory?: boolean;
  };
}

export interface SigningKeyRevoked {
  readonly type: "SigningKeyRevoked";
  readonly data: { readonly kid: string; readonly reason: string };
}

export type KeyFact = SigningKeyEnrolled | SigningKeyRevoked;
export type StatementType = KeyFact["type"];

export type KeyStatement = KeyFact & {
  readonly id: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  /** Who asked for it: an admin's credential, or the system (the genesis). */
  readonly actor: Actor;
  readonly requestId: string | null;
  /** 1 for the genesis, one more for each next statement. */
  readonly version: number;
  /** `hash` of the previous statement; null for the genesis. */
  readonly prevHash: string | null;
  /** The key that signed this statement (the genesis: the anchor itself). */
  readonly signingKeyId: string;
  /** SHA-256 (hex) of the signed bytes. */
  readonly hash: string;
  /** Ed25519 signature (base64url) of the signed bytes. */
  readonly signature: string;
};

export type UnsignedStatement = Omit<KeyStatement, "hash" | "signature">;

/** The canonical JSON of every member but `hash` and `signature`: what the hash and signature cover. */
export function statementBytes(statement: UnsignedStatement): Buffer {
  const { id, type, schemaVersion, occurredAt, actor, requestId, data, version, prevHash, signingKeyId } = statement;
  return Buffer.from(
    canonicalJson({ id, type, schemaVersion, occurredAt, actor, requestId, data, version, prevHash, signingKeyId }),
    "utf8",
  );
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Reads a stored statement; throws when it is not one (its members are checked, not trusted). */
export function decodeStatement(bytes: Uint8Array): KeyStatement {
  const raw = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown> | null;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("a key statement is a JSON object");
  const data = raw.data as Record<string, unknown> | null | undefined;
  const text = (value: unknown): value is string => typeof value === "string";
  const kid = (value: unknown): boolean => text(value) && KID.test(value);
  // Only the members a statement has, each of its type: what is not a statement of ours is refused
  // here, with a short reason, before anything reads (or logs) a member an intruder chose.
  const allowed = (record: Record<string, unknown>, names: readonly string[]): boolean =>
    Object.keys(record).every((name) => names.includes(name));
  const shaped =
    raw.schemaVersion === STATEMENT_SCHEMA_VERSION &&
    allowed(raw, STATEMENT_MEMBERS) &&
    text(raw.id) &&
    raw.id.length <= 64 &&
    text(raw.occurredAt) &&
    raw.occurredAt.length <= 40 &&
    typeof raw.actor === "object" &&
    raw.actor !== null &&
    (raw.requestId === null || (text(raw.requestId) && raw.requestId.length <= 64)) &&
    Number.isSafeInteger(raw.version) &&
    (raw.version as number) >= 1 &&
    (raw.prevHash === null || (text(raw.prevHash) && HASH.test(raw.prevHash))) &&
    kid(raw.signingKeyId) &&
    text(raw.hash) &&
    HASH.test(raw.hash) &&
    text(raw.signature) &&
    raw.signature.length <= 100 &&
    typeof data === "object" &&
    data !== null &&
    kid(data.kid) &&
    ((raw.type === "SigningKeyEnrolled" &&
      allowed(data, ["kid", "publicKey", "role", "legacyHistory"]) &&
      text(data.publicKey) &&
      data.publicKey.length === 43 &&
      (data.role === "anchor" || data.role === "signer") &&
      (data.legacyHistory === undefined || typeof data.legacyHistory === "boolean")) ||
      (raw.type === "SigningKeyRevoked" && allowed(data, ["kid", "reason"]) && text(data.reason) && data.reason.length <= 500));
  if (!shaped) throw new Error("not a signing key statement of a known type and schema version");
  return raw as unknown as KeyStatement;
}
