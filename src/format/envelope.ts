import { createHash } from "node:crypto";
import type { Actor, DomainEvent, EventType } from "../domain/index.js";
import { canonicalJson } from "../signing/index.js";
import type { Signer } from "../signing/index.js";

export const SCHEMA_VERSION = 1;

/**
 * One event as it is stored in the stream: the fact, who caused it and why, its place in the chain
 * of its account, and an Ed25519 signature of the daemon that appended it. Public and versioned.
 */
export interface EventEnvelope {
  readonly id: string;
  readonly type: EventType;
  readonly schemaVersion: number;
  readonly accountId: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly requestId: string | null;
  readonly data: DomainEvent["data"];
  /** 1 for the first event of the account, one more for each next one. */
  readonly accountVersion: number;
  /** `hash` of the previous event of the same account; null for its first event. */
  readonly prevHash: string | null;
  /** SHA-256 (hex) of the canonical JSON of every other member except `signature`. */
  readonly hash: string;
  readonly signingKeyId: string;
  /** Ed25519 signature (base64url) of the same canonical bytes. */
  readonly signature: string;
}

/** An envelope with its stream sequence, the global position of the event. */
export interface StoredEvent extends EventEnvelope {
  readonly seq: number;
}

export interface SealContext {
  readonly id: string;
  readonly actor: Actor;
  readonly requestId: string | null;
  readonly accountVersion: number;
  readonly prevHash: string | null;
}

export type UnsignedEnvelope = Omit<EventEnvelope, "hash" | "signature">;

export function signedBytes(envelope: UnsignedEnvelope): Buffer {
  const { id, type, schemaVersion, accountId, occurredAt, actor, requestId, data, accountVersion, prevHash, signingKeyId } =
    envelope;
  return Buffer.from(
    canonicalJson({
      id,
      type,
      schemaVersion,
      accountId,
      occurredAt,
      actor,
      requestId,
      data,
      accountVersion,
      prevHash,
      signingKeyId,
    }),
    "utf8",
  );
}

export function sealEvent(event: DomainEvent, context: SealContext, signer: Signer): EventEnvelope {
  const unsigned: UnsignedEnvelope = {
    id: context.id,
    type: event.type,
    schemaVersion: SCHEMA_VERSION,
    accountId: event.accountId,
    occurredAt: event.occurredAt,
    actor: context.actor,
    requestId: context.requestId,
    data: event.data,
    accountVersion: context.accountVersion,
    prevHash: context.prevHash,
    signingKeyId: signer.keyId,
  };
  const bytes = signedBytes(unsigned);
  return {
    ...unsigned,
    hash: createHash("sha256").update(bytes).digest("hex"),
    signature: Buffer.from(signer.sign(bytes)).toString("base64url"),
  };
}

/** The domain fact inside an envelope. */
export function toDomainEvent(envelope: EventEnvelope): DomainEvent {
  return {
    type: envelope.type,
    accountId: envelope.accountId,
    occurredAt: envelope.occurredAt,
    data: envelope.data,
  } as DomainEvent;
}

/**
 * Upcasters, by the schema version they read: each turns an envelope of its version into one of the
 * next version. Version 1 is the current version; when version 2 comes, its upcaster goes here as
 * `1: (v1) => v2` and every stored event stays readable forever. An upcaster keeps the members the
 * hash and signature were computed over as they were stored, so that old events still verify.
 */
const UPCASTERS: Readonly<Record<number, (envelope: Record<string, unknown>) => Record<string, unknown>>> = {};

/** Reads a stored envelope of any schema version into the current one. */
export function upcast(raw: unknown): EventEnvelope {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("an event envelope is a JSON object");
  let envelope = raw as Record<string, unknown>;
  for (;;) {
    const version = envelope.schemaVersion;
    if (version === SCHEMA_VERSION) return envelope as unknown as EventEnvelope;
    const next = typeof version === "number" ? UPCASTERS[version] : undefined;
    if (next === undefined) throw new Error(`unknown event schema version ${String(version)}`);
    envelope = next(envelope);
  }
}

export function decodeEnvelope(bytes: Uint8Array): EventEnvelope {
  return checkedShape(upcast(JSON.parse(Buffer.from(bytes).toString("utf8"))));
}

/**
 * Every member of the type it must have: a stored message is anybody's writing, and an id that is
 * an object or a version that is a string must fail here, as "not a readable event", not later in
 * code that takes the types on trust.
 */
function checkedShape(envelope: EventEnvelope): EventEnvelope {
  const text = (value: unknown): boolean => typeof value === "string";
  const object = (value: unknown): boolean => typeof value === "object" && value !== null && !Array.isArray(value);
  const shaped =
    text(envelope.id) &&
    text(envelope.type) &&
    text(envelope.accountId) &&
    text(envelope.occurredAt) &&
    object(envelope.actor) &&
    (envelope.requestId === null || text(envelope.requestId)) &&
    object(envelope.data) &&
    Number.isSafeInteger(envelope.accountVersion) &&
    envelope.accountVersion >= 1 &&
    (envelope.prevHash === null || text(envelope.prevHash)) &&
    text(envelope.hash) &&
    text(envelope.signingKeyId) &&
    text(envelope.signature);
  if (!shaped) throw new Error("an event envelope member has the wrong type");
  return envelope;
}
