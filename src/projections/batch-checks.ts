import { decodeEnvelope, isEventSubject, signedBytes, type EventEnvelope, type StoredEvent } from "../format/index.js";
import type { SignatureJob } from "../signing/index.js";
import type { SignerCheck } from "../trust/index.js";
import type { SkippedEntry } from "./layout.js";

/** One message of the stream as the projector reads it, in order. */
export interface StreamMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Messages the server still holds for this consumer after this one. */
  readonly pending: number;
  /** When the stream stored it (ms since the epoch). */
  readonly storedAt: number;
}

/**
 * The ledger's trust root as the projector uses it: it feeds the key statements it reads, in
 * stream order, and then asks about sequences it has passed (so the answer is final).
 */
export interface ProjectorTrust {
  feed(seq: number, data: Uint8Array): void;
  observe(seq: number): void;
  signerAtCovered(kid: string, seq: number): SignerCheck;
  /** The same for any sequence: reads the statements not known yet first. */
  signerAt(kid: string, seq: number): Promise<SignerCheck>;
  /** The statement at `seq` if it counted (its version and hash), else null. */
  statementAt(seq: number): { version: number; hash: string } | null;
}

/** A gathered batch, decoded, with its signature checks under way. */
export interface PreparedBatch {
  readonly messages: readonly StreamMessage[];
  /** Each event message decoded (an Error when it is not a readable event); null for other subjects. */
  readonly events: ReadonlyArray<StoredEvent | Error | null>;
  /** The bytes each event's hash and signature cover (null: not a readable event, or one a checkpoint vouches for). */
  readonly signed: ReadonlyArray<Uint8Array | null>;
  /** Per message, whether a signed checkpoint vouches for it (its hash and signature are then not checked here). */
  readonly vouched: readonly boolean[];
  /** Per message, why its signature does not count (null: it does, or it is no event). */
  readonly verdicts: Promise<Array<SkippedEntry | null>>;
}

export interface BatchChecks {
  /** Absent (tests of projection alone): signatures are not checked. */
  readonly trust?: ProjectorTrust;
  /** Events this daemon sealed a moment ago: their Ed25519 check would only repeat its own work. */
  readonly sealedHere: (envelope: EventEnvelope) => boolean;
  /** Runs the Ed25519 checks (in worker threads when there are many). */
  readonly check: (jobs: readonly SignatureJob[]) => Promise<boolean[]>;
  /** Whether a signed checkpoint vouches for the event message at a sequence (see ConfirmedRuns). */
  readonly vouchedFor: (seq: number) => boolean;
}

/**
 * Decodes a batch and starts its signature checks; nothing is awaited here. Each event's signer
 * must be a key the ledger trusted at the event's sequence (an untrusted one is refused without an
 * Ed25519 check, naming the key); then the signature itself must verify.
 */
export function prepareBatch(messages: readonly StreamMessage[], checks: BatchChecks): PreparedBatch {
  const signed: Array<Uint8Array | null> = [];
  const vouched: boolean[] = [];
  // Whatever a message holds, its reading fails here or nowhere: it is then passed over, never retried.
  const events = messages.map((message): StoredEvent | Error | null => {
    signed.push(null);
    vouched.push(false);
    if (!isEventSubject(message.subject)) return null;
    try {
      const event = { ...decodeEnvelope(message.data), seq: message.seq };
      if (checks.vouchedFor(message.seq)) vouched[vouched.length - 1] = true;
      else signed[signed.length - 1] = signedBytes(event);
      return event;
    } catch (error) {
      return new Error(`not a readable event: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const verdicts = signatureVerdicts(events, signed, checks);
  verdicts.catch(() => undefined); // awaited when the batch is applied, unless it is dropped first
  return { messages, events, signed, vouched, verdicts };
}

async function signatureVerdicts(
  events: ReadonlyArray<StoredEvent | Error | null>,
  signed: ReadonlyArray<Uint8Array | null>,
  { trust, sealedHere, check }: BatchChecks,
): Promise<Array<SkippedEntry | null>> {
  const verdicts: Array<SkippedEntry | null> = [];
  const jobs: SignatureJob[] = [];
  const waiting: number[] = [];
  for (const [index, event] of events.entries()) {
    if (trust === undefined || event === null || event instanceof Error) {
      verdicts.push(null);
      continue;
    }
    const signer = trust.signerAtCovered(event.signingKeyId, event.seq);
    if ("code" in signer) {
      verdicts.push({ reason: signer.reason, code: signer.code, kid: signer.kid });
      continue;
    }
    // Sealed by this daemon a moment ago, or vouched for by a signed checkpoint: no Ed25519 check here.
    if (signed[index] === null || sealedHere(event)) {
      verdicts.push(null);
      continue;
    }
    verdicts.push({ reason: "signature does not verify" });
    waiting.push(index);
    jobs.push({ publicKey: signer.publicKey, message: signed[index]!, signature: Buffer.from(event.signature, "base64url") });
  }
  (await check(jobs)).forEach((valid, i) => {
    if (valid) verdicts[waiting[i]!] = null;
  });
  return verdicts;
}
