import { createHash } from "node:crypto";
import { canonicalJson, verifySignature, type Signer } from "../signing/index.js";
import type { SignerCheck } from "../trust/index.js";
import type { DigestPosition } from "./digest.js";

/**
 * Version 3 adds `refused`, version 2 `keys`; checkpoints of every version stay readable and
 * verifiable as they were signed.
 */
export const CHECKPOINT_SCHEMA_VERSION = 3;

/** A checkpoint lists at most this many refused messages; with more, `refused` is null. */
export const MAX_REFUSED = 1000;

/**
 * (Version 3) the event messages after `after` up to the checkpoint's `upToSeq` that its writer's
 * projector passed over (forged, altered, out of their chain, unreadable): with them, a replay may
 * take every other message of that run on the checkpoint's word (its digest covers their bytes)
 * and check only these as it always does.
 */
export interface RefusedMessages {
  readonly after: number;
  /** Their stream sequences, ascending. */
  readonly seqs: readonly number[];
}

/** The last signing key statement that counted, as the checkpoint's writer had passed it. */
export interface KeysHead {
  /** Its stream sequence. */
  readonly seq: number;
  readonly version: number;
  readonly hash: string;
}

/**
 * A signed statement by a daemon about the stream: "the first `eventCount` event messages, up to
 * sequence `upToSeq`, have the running digest `digest`". Checkpoints are chained by `prevHash` and
 * appended with the expected last sequence of their subject, so they form one line even with
 * several daemons. They reveal removed, inserted or reordered events anywhere before them, also
 * across accounts and at the end of an account's history, which per-account chains cannot show.
 */
export interface StreamCheckpoint {
  readonly type: "StreamCheckpoint";
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly upToSeq: number;
  readonly eventCount: number;
  readonly digest: string;
  /** `hash` of the previous checkpoint; null for the first one. */
  readonly prevHash: string | null;
  /**
   * (Version 2) the last key statement that counted when the checkpoint was written (null: none
   * yet): a statement removed or replaced before it shows, which the event digest cannot show.
   */
  readonly keys?: KeysHead | null;
  /** (Version 3) the messages its writer refused since `after`; null when there were more than MAX_REFUSED. */
  readonly refused?: RefusedMessages | null;
  /** SHA-256 (hex) of the canonical JSON of every other member except `signature`. */
  readonly hash: string;
  readonly signingKeyId: string;
  /** Ed25519 signature (base64url) of the same canonical bytes. */
  readonly signature: string;
}

export function checkpointBytes(checkpoint: Omit<StreamCheckpoint, "hash" | "signature">): Buffer {
  const { type, schemaVersion, occurredAt, upToSeq, eventCount, digest, prevHash, signingKeyId, keys, refused } = checkpoint;
  // `keys` is absent from version 1, `refused` from 1 and 2 (canonical JSON leaves out an undefined member).
  return Buffer.from(
    canonicalJson({ type, schemaVersion, occurredAt, upToSeq, eventCount, digest, prevHash, signingKeyId, keys, refused }),
    "utf8",
  );
}

export function sealCheckpoint(
  position: DigestPosition,
  prevHash: string | null,
  occurredAt: string,
  signer: Signer,
  keys: KeysHead | null,
  refused: RefusedMessages | null,
): StreamCheckpoint {
  const unsigned = {
    type: "StreamCheckpoint" as const,
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    occurredAt,
    upToSeq: position.seq,
    eventCount: position.count,
    digest: position.digest,
    prevHash,
    keys,
    refused,
    signingKeyId: signer.keyId,
  };
  const bytes = checkpointBytes(unsigned);
  return {
    ...unsigned,
    hash: createHash("sha256").update(bytes).digest("hex"),
    signature: Buffer.from(signer.sign(bytes)).toString("base64url"),
  };
}

export function decodeCheckpoint(bytes: Uint8Array): StreamCheckpoint {
  const raw = JSON.parse(Buffer.from(bytes).toString("utf8")) as Partial<StreamCheckpoint> | null;
  const keys = raw?.keys;
  const keysShaped =
    keys === null ||
    (typeof keys === "object" &&
      Number.isSafeInteger(keys.seq) &&
      Number.isSafeInteger(keys.version) &&
      typeof keys.hash === "string");
  if (
    raw === null ||
    typeof raw !== "object" ||
    raw.type !== "StreamCheckpoint" ||
    !(raw.schemaVersion === 1
      ? keys === undefined && raw.refused === undefined
      : raw.schemaVersion === 2
        ? keysShaped && raw.refused === undefined
        : raw.schemaVersion === 3 && keysShaped && refusedShaped(raw.refused, raw.upToSeq)) ||
    typeof raw.occurredAt !== "string" ||
    !Number.isSafeInteger(raw.upToSeq) ||
    !Number.isSafeInteger(raw.eventCount) ||
    typeof raw.digest !== "string" ||
    (raw.prevHash !== null && typeof raw.prevHash !== "string") ||
    typeof raw.hash !== "string" ||
    typeof raw.signingKeyId !== "string" ||
    typeof raw.signature !== "string"
  ) {
    throw new Error("not a stream checkpoint");
  }
  return raw as StreamCheckpoint;
}

/** `refused` as version 3 has it: null, or an `after` before `upToSeq` and ascending sequences in between. */
function refusedShaped(refused: unknown, upToSeq: unknown): boolean {
  if (refused === null) return true;
  if (typeof refused !== "object" || refused === undefined || !Number.isSafeInteger(upToSeq)) return false;
  const { after, seqs } = refused as Partial<RefusedMessages>;
  if (!Number.isSafeInteger(after) || after! < 0 || after! > (upToSeq as number)) return false;
  if (!Array.isArray(seqs) || seqs.length > MAX_REFUSED) return false;
  let previous = after!;
  for (const seq of seqs as unknown[]) {
    if (!Number.isSafeInteger(seq) || (seq as number) <= previous || (seq as number) > (upToSeq as number)) return false;
    previous = seq as number;
  }
  return true;
}

/**
 * Why a checkpoint is not authentic (null: it hashes right, and a key the ledger trusted at the
 * checkpoint's sequence signed it), given the signer's trust as `signerAt` answered it.
 */
export function checkpointProblem(checkpoint: StreamCheckpoint, signer: SignerCheck): string | null {
  const bytes = checkpointBytes(checkpoint);
  if (createHash("sha256").update(bytes).digest("hex") !== checkpoint.hash) return "checkpoint hash does not match its content";
  if ("code" in signer) return signer.reason;
  return verifySignature(signer.publicKey, bytes, Buffer.from(checkpoint.signature, "base64url"))
    ? null
    : "checkpoint signature does not verify";
}
