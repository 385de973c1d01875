import { evolve, InvalidValueError, type AccountState } from "../domain/index.js";
import { type JetStreamEventStore } from "../events/index.js";
import {
  accountSubject,
  ALL_EVENTS_FILTER,
  decodeEnvelope,
  eventProblem,
  signatureProblem,
  signedBytes,
  toDomainEvent,
  type RawMessage,
  type SignerTrust,
  type StoredEvent,
} from "../format/index.js";

/** A point in history: an ISO instant, or a stream sequence. */
export type AsOf = { readonly time: string } | { readonly seq: number };

/** A point resolved: the last stream sequence it includes, and the instant states are judged at. */
export interface PointInTime {
  readonly seq: number;
  readonly at: string;
}

/**
 * The state of accounts and keys as it was at a point in history, folded from the stream itself
 * with the projector's checks (an event that is forged or breaks its chain is passed over there,
 * so it is here). One account's past is read from that account's own subject only.
 */
export class TimeTravel {
  constructor(
    private readonly store: JetStreamEventStore,
    private readonly trust: SignerTrust,
    private readonly clock: () => Date,
  ) {}

  /**
   * The last sequence at or before the point, and the instant to judge states at: the given time,
   * or the time the stream stored the message at the given sequence.
   */
  async resolve(asOf: AsOf): Promise<PointInTime> {
    const head = await this.store.head();
    if ("seq" in asOf) {
      if (asOf.seq > head) throw new InvalidValueError("asOf", `asOf ${asOf.seq} is after the stream's last sequence ${head}`);
      if (asOf.seq === 0) return { seq: 0, at: new Date(0).toISOString() };
      const time = await this.store.timeOf(asOf.seq);
      return { seq: asOf.seq, at: (time ?? new Date(0)).toISOString() };
    }
    const at = new Date(asOf.time);
    if (at.getTime() > this.clock().getTime()) throw new InvalidValueError("asOf", "asOf is in the future");
    return { seq: await this.store.lastSequenceAt(at), at: at.toISOString() };
  }

  /** One account as it was (null: it did not exist then). */
  async account(accountId: string, point: PointInTime): Promise<AccountState | null> {
    const fold = new VerifiedFold(this.trust);
    for await (const message of this.store.messages({ filter: accountSubject(accountId), fromSeq: 1, toSeq: point.seq }))
      await fold.apply(message);
    return fold.states.get(accountId)?.state ?? null;
  }

  /** Every account as it was, in id order (deleted ones included, flagged). */
  async accounts(point: PointInTime): Promise<AccountState[]> {
    const fold = new VerifiedFold(this.trust);
    for await (const message of this.store.messages({ filter: ALL_EVENTS_FILTER, fromSeq: 1, toSeq: point.seq }))
      await fold.apply(message);
    return [...fold.states.values()].map(({ state }) => state).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/**
 * Folds raw event messages into account states, passing over what the projector passes over: an
 * event out of its chain, altered, or not signed by a key the ledger trusted at its sequence.
 */
class VerifiedFold {
  readonly states = new Map<string, { state: AccountState; lastHash: string }>();

  constructor(private readonly trust: SignerTrust) {}

  async apply(message: RawMessage): Promise<void> {
    const read = readable(message);
    if (read === null) return; // not a readable event: the projector skipped it too
    const { event, signed } = read;
    const before = this.states.get(event.accountId);
    const head = before === undefined ? null : { lastHash: before.lastHash, version: before.state.version };
    // A trust root that cannot be read throws (the question has no answer now), never "skipped".
    const problem =
      eventProblem(event, message.subject, head, signed) ??
      signatureProblem(event, await this.trust.signerAt(event.signingKeyId, message.seq), signed);
    if (problem !== null) return;
    const after = foldable(before?.state ?? null, event);
    if (after !== null) this.states.set(event.accountId, { state: after, lastHash: event.hash });
  }
}

function readable(message: RawMessage): { event: StoredEvent; signed: Uint8Array } | null {
  try {
    const event = { ...decodeEnvelope(message.data), seq: message.seq };
    return { event, signed: signedBytes(event) };
  } catch {
    return null;
  }
}

/** The state after an event, or null when the state cannot take it (the projector skipped it too). */
function foldable(state: AccountState | null, event: StoredEvent): AccountState | null {
  try {
    return evolve(state, toDomainEvent(event));
  } catch {
    return null;
  }
}
