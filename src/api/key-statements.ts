import type { JetStreamEventStore } from "../events/index.js";
import { KEYS_SUBJECT, type RawMessage } from "../format/index.js";

/**
 * The ledger's signing key statements (`kl.keys`) from its genesis up to `head`, as stored: what an
 * audit folds against the pinned anchor, and what an evidence bundle carries.
 */
export async function readKeyStatements(store: JetStreamEventStore, head: number): Promise<RawMessage[]> {
  const statements: RawMessage[] = [];
  for await (const message of store.messages({ filter: KEYS_SUBJECT, fromSeq: 1, toSeq: head })) statements.push(message);
  return statements;
}
