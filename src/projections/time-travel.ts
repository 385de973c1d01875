import { InvalidValueError } from "../domain/index.js";
import { changesPage, type ChangesPage } from "./changes.js";
import { PastAccounts } from "./history.js";
import type { ReadModel } from "./read-model.js";

/** A point in history: an ISO instant, or a stream sequence. */
export type AsOf = { readonly time: string } | { readonly seq: number };

/** A point resolved: the last stream sequence it includes, and the instant states are judged at. */
export interface PointInTime {
  readonly seq: number;
  readonly at: string;
}

/** What the stream says about its sequences and times (the event store). */
export interface StreamClock {
  head(): Promise<number>;
  timeOf(seq: number): Promise<Date | null>;
  lastSequenceAt(at: Date): Promise<number>;
}

/**
 * Questions about the past: a point is resolved against the stream (which sequence was last at an
 * instant), then answered from the read model's history records, which the projector writes with
 * the same checks as the present (an event that is forged or breaks its chain is in neither).
 */
export class TimeTravel {
  constructor(
    private readonly stream: StreamClock,
    private readonly readModel: ReadModel,
    /** Resolves once the read model has applied the stream up to `seq` (throws when it takes too long). */
    private readonly reached: (seq: number) => Promise<void>,
    private readonly clock: () => Date,
  ) {}

  /**
   * The last sequence at or before the point, and the instant to judge states at: the given time,
   * or the time the stream stored the message at the given sequence.
   */
  async resolve(asOf: AsOf, field = "asOf"): Promise<PointInTime> {
    const head = await this.stream.head();
    if ("seq" in asOf) {
      if (asOf.seq > head) throw new InvalidValueError(field, `${field} ${asOf.seq} is after the stream's last sequence ${head}`);
      if (asOf.seq === 0) return { seq: 0, at: new Date(0).toISOString() };
      // Read from the read model when it applied an event there (the stream would load a block for an old one).
      const known = this.readModel.storedAt(asOf.seq);
      const time = known !== undefined ? new Date(known) : await this.stream.timeOf(asOf.seq);
      return { seq: asOf.seq, at: (time ?? new Date(0)).toISOString() };
    }
    const at = new Date(asOf.time);
    if (at.getTime() > this.clock().getTime()) throw new InvalidValueError(field, `${field} is in the future`);
    return { seq: await this.stream.lastSequenceAt(at), at: at.toISOString() };
  }

  /** What changed between two resolved points (`from` not after `to`), a page of accounts at a time. */
  async changes(from: PointInTime, to: PointInTime, page: { limit: number; cursor?: string }): Promise<ChangesPage> {
    if (from.seq > to.seq) throw new InvalidValueError("from", "from must not be after to");
    await this.reached(to.seq);
    return changesPage(this.readModel, from.seq, to.seq, page);
  }

  /** The accounts as they were at a resolved point, once the read model has got that far. */
  async at(point: PointInTime): Promise<PastAccounts> {
    await this.reached(point.seq);
    return new PastAccounts(this.readModel, point.seq);
  }
}
