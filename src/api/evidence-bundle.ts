import {
  advancePosition,
  CHECKPOINT_SUBJECT,
  headerLine,
  isEventSubject,
  messageLine,
  sealBytes,
  sealLine,
  START_POSITION,
  type BundleHeader,
  type BundleSeal,
  type RawMessage,
} from "../format/index.js";

export interface BundleSource {
  readonly header: BundleHeader;
  /** The ledger's key statements up to the header's head, in order. */
  readonly statements: readonly RawMessage[];
  /** Every message of the stream up to the header's head, in order: statements and name claims are passed over here. */
  readonly messages: AsyncIterable<RawMessage>;
  /** The key that would sign the seal, and its signature of the bytes given; null when it may not sign. */
  readonly seal: { readonly keyId: string; sign(bytes: Uint8Array): string | null };
}

/**
 * The lines of an evidence bundle (docs/evidence-bundle.md), one at a time as the stream is read:
 * the header, the key statements, every event and checkpoint, and the seal, which says what they
 * add up to (the running digest of the events and the counts), signed when the daemon may sign.
 * Answers the seal once the last line is yielded.
 */
export async function* bundleLines(source: BundleSource): AsyncGenerator<string, BundleSeal, undefined> {
  const { header, statements } = source;
  yield headerLine(header);
  for (const statement of statements) yield messageLine(statement);
  let position = START_POSITION;
  let checkpoints = 0;
  for await (const message of source.messages) {
    if (message.seq > header.head) break;
    if (isEventSubject(message.subject)) position = advancePosition(position, message.seq, message.data);
    else if (message.subject === CHECKPOINT_SUBJECT) checkpoints += 1;
    else continue;
    yield messageLine(message);
  }
  const counted = {
    head: header.head,
    eventCount: position.count,
    digest: position.digest,
    statements: statements.length,
    checkpoints,
  };
  const signature = source.seal.sign(sealBytes({ ...counted, signingKeyId: source.seal.keyId }));
  const seal: BundleSeal =
    signature === null
      ? { ...counted, signingKeyId: null, signature: null }
      : { ...counted, signingKeyId: source.seal.keyId, signature };
  yield sealLine(seal);
  return seal;
}
