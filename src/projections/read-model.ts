import { Level } from "level";
import { pendingRetention, type AccountState, type KeyState } from "../domain/index.js";
import { START_POSITION, type DigestPosition } from "../events/index.js";
import {
  accountKey,
  accountKeyIndex,
  accountKeysRange,
  CHECKPOINT,
  DIGEST,
  keyKey,
  LAYOUT,
  LAYOUT_VERSION,
  nameKey,
  retentionKey,
  skippedKey,
  SKIPPED_RANGE,
  type AccountRecord,
  type Aggregate,
  type KeyRecord,
  type RetentionEntry,
} from "./layout.js";

type Operation = { type: "put"; key: string; value: unknown } | { type: "del"; key: string };

/** The LevelDB read model: records, indexes and the checkpoint, written together in one batch. */
export class ReadModel {
  private constructor(readonly db: Level<string, unknown>) {}

  /**
   * Opens the read model. One written in another layout is cleared, and so rebuilt from the stream
   * by the projector: the read model is derived data, the stream is the source of truth.
   */
  static async open(path: string): Promise<ReadModel> {
    const db = new Level<string, unknown>(path, { valueEncoding: "json" });
    await db.open();
    const readModel = new ReadModel(db);
    if ((await db.get(LAYOUT)) !== LAYOUT_VERSION) await readModel.clear();
    return readModel;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async checkpoint(): Promise<number> {
    return ((await this.db.get(CHECKPOINT)) as number | undefined) ?? 0;
  }

  /** The checkpoint with the running digest of every event message up to it. */
  async position(): Promise<DigestPosition> {
    const seq = await this.checkpoint();
    const digest = (await this.db.get(DIGEST)) as { count: number; digest: string } | undefined;
    return digest === undefined ? START_POSITION : { seq, ...digest };
  }

  async accountRecord(accountId: string): Promise<AccountRecord | undefined> {
    return (await this.db.get(accountKey(accountId))) as AccountRecord | undefined;
  }

  async keyRecord(keyId: string): Promise<KeyRecord | undefined> {
    return (await this.db.get(keyKey(keyId))) as KeyRecord | undefined;
  }

  async accountIdByName(name: string): Promise<string | undefined> {
    return (await this.db.get(nameKey(name))) as string | undefined;
  }

  async keysOf(accountId: string): Promise<KeyRecord[]> {
    const keyIds: string[] = [];
    for await (const key of this.db.keys(accountKeysRange(accountId))) keyIds.push(key.slice(key.lastIndexOf("!") + 1));
    const records = await this.db.getMany(keyIds.map(keyKey));
    return records.filter((record): record is KeyRecord => record !== undefined);
  }

  async aggregate(accountId: string): Promise<Aggregate | null> {
    const record = await this.accountRecord(accountId);
    if (record === undefined) return null;
    const keys: Record<string, KeyState> = {};
    for (const { accountId: _owner, ...key } of await this.keysOf(accountId)) keys[key.id] = key;
    return { state: { ...record.account, keys }, streamSeq: record.streamSeq, lastHash: record.lastHash };
  }

  /**
   * Stores the account's new state with every index that depends on it and the checkpoint, in one
   * atomic batch: a crash leaves either all of it or none of it.
   */
  async apply(before: AccountState | null, after: AccountState, position: DigestPosition, lastHash: string): Promise<void> {
    const streamSeq = position.seq;
    const ops: Operation[] = [];
    const { keys, ...account } = after;
    const record: AccountRecord = { account, streamSeq, lastHash };
    ops.push({ type: "put", key: accountKey(after.id), value: record });
    for (const key of Object.values(keys)) {
      if (before?.keys[key.id] === key) continue;
      const value: KeyRecord = { ...key, accountId: after.id };
      ops.push({ type: "put", key: keyKey(key.id), value });
      if (before?.keys[key.id] === undefined) ops.push({ type: "put", key: accountKeyIndex(after.id, key.id), value: "" });
    }
    diffIndex(ops, nameIndex(before), nameIndex(after));
    diffIndex(ops, retentionIndex(before), retentionIndex(after));
    ops.push(...checkpointOps(position));
    await this.db.batch(ops);
  }

  /**
   * Moves the checkpoint past a message that cannot be applied, and keeps why. The account's
   * expected sequence moves past it too (its state and chain do not), so that the account's next
   * append expects the message that is now last on its subject.
   */
  async skip(position: DigestPosition, reason: string, accountId: string | null): Promise<void> {
    const streamSeq = position.seq;
    const ops: Operation[] = [{ type: "put", key: skippedKey(streamSeq), value: reason }, ...checkpointOps(position)];
    const record = accountId === null ? undefined : await this.accountRecord(accountId);
    if (record !== undefined) ops.push({ type: "put", key: accountKey(record.account.id), value: { ...record, streamSeq } });
    await this.db.batch(ops);
  }

  /** Stream sequences the projector passed without applying, with the reason. */
  async skipped(): Promise<Array<{ seq: number; reason: string }>> {
    const entries: Array<{ seq: number; reason: string }> = [];
    for await (const [key, value] of this.db.iterator(SKIPPED_RANGE))
      entries.push({ seq: Number(key.slice(8)), reason: String(value) });
    return entries;
  }

  /** Empties the read model (the projector then rebuilds it from sequence 1). */
  async clear(): Promise<void> {
    await this.db.clear();
    await this.db.put(LAYOUT, LAYOUT_VERSION);
  }
}

function checkpointOps(position: DigestPosition): Operation[] {
  return [
    { type: "put", key: CHECKPOINT, value: position.seq },
    { type: "put", key: DIGEST, value: { count: position.count, digest: position.digest } },
  ];
}

function nameIndex(state: AccountState | null): Map<string, unknown> {
  return state === null || state.deleted ? new Map() : new Map([[nameKey(state.name), state.id]]);
}

function retentionIndex(state: AccountState | null): Map<string, unknown> {
  const index = new Map<string, unknown>();
  if (state === null || state.deleted) return index;
  for (const key of Object.values(state.keys)) {
    const pending = pendingRetention(key);
    if (pending === null) continue;
    const entry: RetentionEntry = {
      accountId: state.id,
      keyId: key.id,
      generation: pending.generation,
      retainedUntil: pending.retainedUntil,
    };
    index.set(retentionKey(pending.retainedUntil, key.id), entry);
  }
  return index;
}

function diffIndex(ops: Operation[], before: Map<string, unknown>, after: Map<string, unknown>): void {
  for (const key of before.keys()) if (!after.has(key)) ops.push({ type: "del", key });
  for (const [key, value] of after) {
    if (JSON.stringify(before.get(key)) !== JSON.stringify(value)) ops.push({ type: "put", key, value });
  }
}
