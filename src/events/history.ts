import type { EventType } from "../domain/index.js";
import { decodeEnvelope, type StoredEvent } from "../format/index.js";
import type { JetStreamEventStore } from "./event-store.js";
import { accountSubject, ALL_EVENTS_FILTER } from "../format/index.js";

export interface HistoryQuery {
  /** Events after this stream sequence. */
  readonly after: number;
  readonly limit: number;
  readonly accountId?: string;
  readonly type?: EventType;
}

export interface HistoryPage {
  readonly items: StoredEvent[];
  /** The `after` of the next page; null when the stream holds nothing further (as of now). */
  readonly next: number | null;
}

/** How many messages one page reads at most while looking for events of one type. */
const SCAN_LIMIT = 10_000;

/**
 * Pages through the events of the stream in stream order, all of them or one account's (read from
 * that account's subject), optionally of one type. A type is not in the subject on nats-server 2.9,
 * so a page stops after reading SCAN_LIMIT messages and its `next` says where to go on.
 */
export async function historyPage(store: JetStreamEventStore, query: HistoryQuery): Promise<HistoryPage> {
  const filter = query.accountId === undefined ? ALL_EVENTS_FILTER : accountSubject(query.accountId);
  const last = await store.lastSequence(filter);
  const items: StoredEvent[] = [];
  let scanned = 0;
  let position = query.after;
  for await (const message of store.messages({ filter, fromSeq: query.after + 1, toSeq: last })) {
    position = message.seq;
    scanned += 1;
    const event = readable(message.data);
    if (event !== null && (query.type === undefined || event.type === query.type)) items.push({ ...event, seq: message.seq });
    if (items.length >= query.limit || scanned >= SCAN_LIMIT) break;
  }
  return { items, next: position < last ? position : null };
}

function readable(data: Uint8Array) {
  try {
    return decodeEnvelope(data);
  } catch {
    return null;
  }
}
