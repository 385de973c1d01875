import { createHash } from "node:crypto";
import type { Actor } from "../domain/index.js";
import { canonicalJson } from "../signing/index.js";

export const STATEMENT_SCHEMA_VERSION = 1;

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
  const shaped =
    raw.schemaVersion === STATEMENT_SCHEMA_VERSION &&
    text(raw.id) &&
    text(raw.occurredAt) &&
    typeof raw.actor === "object" &&
    raw.actor !== null &&
    (raw.requestId === null || text(raw.requestId)) &&
    Number.isSafeInteger(raw.version) &&
    (raw.version as number) >= 1 &&
    (raw.prevHash === null || text(raw.prevHash)) &&
    text(raw.signingKeyId) &&
    text(raw.hash) &&
    text(raw.signature) &&
    typeof data === "object" &&
    data !== null &&
    text(data.kid) &&
    ((raw.type === "SigningKeyEnrolled" &&
      text(data.publicKey) &&
      (data.role === "anchor" || data.role === "signer") &&
      (data.legacyHistory === undefined || typeof data.legacyHistory === "boolean")) ||
      (raw.type === "SigningKeyRevoked" && text(data.reason)));
  if (!shaped) throw new Error("not a signing key statement of a known type and schema version");
  return raw as unknown as KeyStatement;
}
