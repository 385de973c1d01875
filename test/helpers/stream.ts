import type { JetStreamEventStore } from "../../src/events/index.js";
import type { StoredEvent } from "../../src/format/index.js";
import { ALL_EVENTS_FILTER } from "../../src/format/index.js";

/** Every event in the stream, in order. */
export async function allEvents(store: JetStreamEventStore): Promise<StoredEvent[]> {
  const last = await store.lastEventSequence();
  return last === 0 ? [] : store.read(ALL_EVENTS_FILTER, 1, last);
}

/** Every message in the stream (events and name claims), raw. */
export async function allMessages(store: JetStreamEventStore): Promise<{ subject: string; data: string; headers: string }[]> {
  const info = await store.manager.streams.info(store.options.stream);
  const messages: { subject: string; data: string; headers: string }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await store.manager.streams.getMessage(store.options.stream, { seq });
    if (message === null) continue;
    const headers =
      message.header === undefined ? "" : [...message.header].map(([key, values]) => `${key}: ${values.join(",")}`).join("\n");
    messages.push({ subject: message.subject, data: message.string(), headers });
  }
  return messages;
}

/** Every key and value of a LevelDB read model, as text. */
export async function dumpLevel(db: { iterator(): AsyncIterable<[string, unknown]> }): Promise<Array<[string, string]>> {
  const entries: Array<[string, string]> = [];
  for await (const [key, value] of db.iterator()) entries.push([key, JSON.stringify(value)]);
  return entries;
}
