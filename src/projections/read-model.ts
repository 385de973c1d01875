import { Level } from "level";
import { noKeys, pendingRetention, type AccountState } from "../domain/index.js";
import { START_POSITION, type DigestPosition } from "../format/index.js";
import { historyRecords } from "./history-records.js";
import { KeyIdFilter } from "./key-id-filter.js";
import { ReadThroughCache } from "./read-cache.js";
import { saveKeyFilter, takeKeyFilter, type SavedKeyFilter } from "./saved-key-filter.js";
import {
  accountKey,
  accountKeyIndex,
  accountKeysRange,
  APPLIED,
  changeKey,
  CHECKPOINT,
  DIGEST,
  keyKey,
  LEGACY_KEY_FILTER,
  KEYS_HEAD,
  KEYS_RANGE,
  STREAM_CHECKPOINT,
  LAYOUT,
  LAYOUT_VERSION,
  nameKey,
  retentionKey,
  skippedKey,
  SKIPPED_RANGE,
  type AccountFields,
  type AccountRecord,
  type Aggregate,
  type ChangeEntry,
  type CheckpointHead,
  type KeysHead,
  type SkippedEntry,
  type KeyRecord,
  type RetentionEntry,
} from "./layout.js";

/**
 * LevelDB's chained batch: each operation is copied into the native batch as it is added, so the
 * values' encodings do not live on in JavaScript until the batch is written (measured: a quarter
 * less per operation than an array of operations, and less garbage that survives).
 */
export interface Writes {
  put(key: string, value: unknown): unknown;
  del(key: string): unknown;
  write(): Promise<void>;
  close(): Promise<void>;
}

/** What verification reads: a key record (deleted ones included) and its account's fields. */
export interface Credential {
  readonly key: KeyRecord;
  readonly account: AccountFields;
}

/** LevelDB's write buffer for a read model written in bulk (its default: 4 MiB). */
const BULK_WRITE_BUFFER = 8 * 1024 * 1024;

/** How many accounts (with their keys) and how many credentials stay in memory once read. */
export const AGGREGATE_CACHE_SIZE = 5_000;
export const CREDENTIAL_CACHE_SIZE = 20_000;

/**
 * The LevelDB read model: records, indexes and the checkpoint, written together in one batch.
 * Recently read accounts and credentials are kept in memory; every write here updates them as it
 * lands, so a read never answers what the read model no longer holds. Point reads are synchronous
 * (`getSync`): they hit LevelDB's memtable or block cache in about a microsecond, where a trip
 * through libuv's thread pool costs twenty or more.
 */
export class ReadModel {
  private readonly aggregates = new ReadThroughCache<string, Aggregate>(AGGREGATE_CACHE_SIZE);
  private readonly credentials = new ReadThroughCache<string, Credential>(CREDENTIAL_CACHE_SIZE);
  private readonly keyIds = new KeyIdFilter();
  private closing = false;
  /** Events applied so far (skipped ones not counted), as the last committed batch left it. */
  private appliedCount = 0;

  private constructor(
    readonly db: Level<string, unknown>,
    /** LevelDB's directory: the saved key id filter lives there too. */
    private readonly path: string,
  ) {}

  /**
   * Opens the read model. One written in another layout is cleared, and so rebuilt from the stream
   * by the projector: the read model is derived data, the stream is the source of truth. `bulk`: it
   * is about to be written from scratch (a rebuild): LevelDB gets a larger write buffer, so that it
   * compacts less while a million events go in (measured on 200,000 events: the rebuild 11.2–12.7 s
   * with LevelDB's 4 MiB, 9.9–10.6 s with 8 MiB; 32 MiB with 16 MiB files was no faster, and the
   * first start after it 250 ms slower, replaying the larger log).
   */
  static async open(path: string, { bulk = false }: { bulk?: boolean } = {}): Promise<ReadModel> {
    const db = new Level<string, unknown>(path, {
      valueEncoding: "json",
      ...(bulk ? { writeBufferSize: BULK_WRITE_BUFFER } : {}),
    });
    await db.open();
    const readModel = new ReadModel(db, path);
    // Taken only once LevelDB's lock is held: a second process that cannot open it leaves it.
    const saved = await takeKeyFilter(path);
    if ((await db.get(LAYOUT)) !== LAYOUT_VERSION) await readModel.clear();
    else {
      await readModel.dropLegacyKeyFilter();
      if (!(await readModel.loadKeyIds(saved))) void readModel.learnKeyIds();
    }
    readModel.appliedCount = ((await db.get(APPLIED)) as number | undefined) ?? 0;
    return readModel;
  }

  /**
   * Closes the read model, leaving the key id filter behind for the next start (it matches this
   * checkpoint), in a file of its own: a clean shutdown writes nothing to LevelDB, so that the next
   * start has no log to replay. `leaveKeyFilter: false` for a read model whose directory another
   * one has taken (a rebuild's old one): its filter would land beside the new read model's files.
   */
  async close({ leaveKeyFilter = true }: { leaveKeyFilter?: boolean } = {}): Promise<void> {
    this.closing = true;
    if (leaveKeyFilter && this.keyIds.ready && this.db.status === "open")
      await saveKeyFilter(this.path, await this.checkpoint(), this.keyIds.save()).catch(() => undefined);
    await this.db.close();
  }

  /** Earlier versions kept the filter in LevelDB (2 MiB with a million keys): removed once. */
  private async dropLegacyKeyFilter(): Promise<void> {
    const found = await this.db.keys({ gte: LEGACY_KEY_FILTER, lte: LEGACY_KEY_FILTER }).all();
    if (found.length > 0) await this.db.del(LEGACY_KEY_FILTER);
  }

  /**
   * The key id filter a clean shutdown left, when the read model has not moved since (a daemon that
   * crashed after it applied more leaves one that does not match: it is learnt again).
   */
  private async loadKeyIds(saved: SavedKeyFilter | null): Promise<boolean> {
    if (saved === null || saved.checkpoint !== (await this.checkpoint())) return false;
    return this.keyIds.restore(saved.bytes);
  }

  /**
   * Fills the key id filter from every key record, in the background: start-up does not wait for
   * it (with a million keys it takes a second or so). Until it is done, every lookup goes to LevelDB.
   */
  private async learnKeyIds(): Promise<void> {
    try {
      for await (const key of this.db.keys(KEYS_RANGE)) {
        if (this.closing) return;
        this.keyIds.add(key.slice(4));
      }
      this.keyIds.markComplete();
    } catch {
      // A read model closed meanwhile, or unreadable: the filter stays incomplete and says "maybe".
    }
  }

  /** False only when this read model surely holds no key of this id (see KeyIdFilter). */
  mayHoldKey(keyId: string): boolean {
    return this.keyIds.mightHold(keyId);
  }

  /** The last stream sequence the projector passed: it resumes after it. */
  async checkpoint(): Promise<number> {
    return ((await this.db.get(CHECKPOINT)) as number | undefined) ?? 0;
  }

  /** The running digest of every event message the read model holds, with the last one's sequence. */
  async position(): Promise<DigestPosition> {
    return ((await this.db.get(DIGEST)) as DigestPosition | undefined) ?? START_POSITION;
  }

  /** The last signing key statement that counted, as the projector passed it (null: none yet). */
  async keysHead(): Promise<KeysHead | null> {
    return ((await this.db.get(KEYS_HEAD)) as KeysHead | undefined) ?? null;
  }

  /** The last authentic stream checkpoint the projector passed (null: none yet). */
  async streamCheckpoint(): Promise<CheckpointHead | null> {
    return ((await this.db.get(STREAM_CHECKPOINT)) as CheckpointHead | undefined) ?? null;
  }

  /** When the stream stored the event this read model applied at `seq` (ms; undefined: no event applied there). */
  storedAt(seq: number): number | undefined {
    return (this.db.getSync(changeKey(seq)) as ChangeEntry | undefined)?.[2];
  }

  async accountRecord(accountId: string): Promise<AccountRecord | undefined> {
    return this.db.getSync(accountKey(accountId)) as AccountRecord | undefined;
  }

  async keyRecord(keyId: string): Promise<KeyRecord | undefined> {
    return this.db.getSync(keyKey(keyId)) as KeyRecord | undefined;
  }

  async accountIdByName(name: string): Promise<string | undefined> {
    return this.db.getSync(nameKey(name)) as string | undefined;
  }

  async keysOf(accountId: string): Promise<KeyRecord[]> {
    const keyIds: string[] = [];
    for await (const key of this.db.keys(accountKeysRange(accountId))) keyIds.push(key.slice(key.lastIndexOf("!") + 1));
    const records = keyIds.map((keyId) => this.db.getSync(keyKey(keyId)) as KeyRecord | undefined);
    return records.filter((record): record is KeyRecord => record !== undefined);
  }

  /** An account's state with its keys, where its stream subject stands, and its chain's last hash. */
  async aggregate(accountId: string): Promise<Aggregate | null> {
    const aggregate = await this.aggregates.get(accountId, async () => {
      const record = await this.accountRecord(accountId);
      if (record === undefined) return undefined;
      const keys = noKeys();
      for (const { accountId: _owner, ...key } of await this.keysOf(accountId)) keys[key.id] = key;
      return { state: { ...record.account, keys }, streamSeq: record.streamSeq, lastHash: record.lastHash };
    });
    return aggregate ?? null;
  }

  /** A key and its account, for verification; null when either is unknown. */
  async credential(keyId: string): Promise<Credential | null> {
    const credential = await this.credentials.get(keyId, async () => {
      const key = await this.keyRecord(keyId);
      const record = key === undefined ? undefined : await this.accountRecord(key.accountId);
      return key === undefined || record === undefined ? undefined : { key, account: record.account };
    });
    return credential ?? null;
  }

  /** The credential if it is in memory (undefined: not known to be, ask `credential`). */
  cachedCredential(keyId: string): Credential | undefined {
    return this.credentials.peek(keyId);
  }

  /** How many events the read model applied (skipped messages not counted). */
  get applied(): number {
    return this.appliedCount;
  }

  /**
   * A batch of projected events and skipped messages, written at once with the last one's position.
   * `previous`: a batch being written meanwhile, which this one follows: its reads see what that one
   * wrote, and it must be committed only once that one is.
   */
  batch(previous: ProjectionBatch | null = null): ProjectionBatch {
    return new ProjectionBatch(this, previous, this.db.batch(), (writes, changed, newKeyIds, applied) =>
      this.commit(writes, changed, newKeyIds, applied),
    );
  }

  private async commit(
    writes: Writes,
    changed: ReadonlyMap<string, Aggregate>,
    newKeyIds: readonly string[],
    applied: number,
  ): Promise<void> {
    // Known before they are written: a "maybe" for a key about to exist is harmless, a "no" is not.
    for (const keyId of newKeyIds) this.keyIds.add(keyId);
    await writes.write();
    this.appliedCount = applied;
    for (const [accountId, aggregate] of changed) {
      this.aggregates.changed(accountId, aggregate);
      for (const keyId of Object.keys(aggregate.state.keys)) this.credentials.changed(keyId);
    }
  }

  /** Event messages the projector passed without applying, with why. */
  async skipped(): Promise<Array<SkippedEntry & { seq: number }>> {
    const entries: Array<SkippedEntry & { seq: number }> = [];
    for await (const [key, value] of this.db.iterator(SKIPPED_RANGE))
      entries.push({ seq: Number(key.slice(8)), ...(value as SkippedEntry) });
    return entries;
  }

  /** The sequences of the messages passed over after `after` up to `upTo`, ascending (null: more than `max`). */
  async skippedBetween(after: number, upTo: number, max: number): Promise<number[] | null> {
    const seqs: number[] = [];
    for await (const key of this.db.keys({ gt: skippedKey(after), lte: skippedKey(upTo), limit: max + 1 }))
      seqs.push(Number(key.slice("skipped!".length)));
    return seqs.length > max ? null : seqs;
  }

  /**
   * Compacts every record into LevelDB's lower levels (every key of the layout starts with a lower-case
   * letter, below "~"). A read model written in bulk leaves compactions pending, which a daemon
   * starting on it would otherwise run beside its start-up.
   */
  async compact(): Promise<void> {
    // `level` is classic-level on Node, whose compactRange its browser-wide type leaves out.
    await (this.db as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange("", "~");
  }

  /** Empties the read model (the projector then rebuilds it from sequence 1). */
  async clear(): Promise<void> {
    await this.db.clear();
    this.aggregates.clear();
    this.credentials.clear();
    this.keyIds.reset();
    this.appliedCount = 0;
    await this.db.put(LAYOUT, LAYOUT_VERSION);
  }
}

/**
 * Events applied, event messages skipped and other messages passed, in stream order, gathered into
 * one LevelDB batch. Reads of an account see what the batch already did to it, so that one batch
 * can hold many of its events.
 */
export class ProjectionBatch {
  /** Each account touched, as the batch leaves it. */
  private readonly changed = new Map<string, Aggregate>();
  /** Each account touched, as it was before the batch. */
  private readonly before = new Map<string, AccountState | null>();
  /** The last stream sequence passed, of any subject. */
  private lastSeq: number | null = null;
  /** The digest after the batch's last event message (null: the batch holds none). */
  private digest: DigestPosition | null = null;
  private streamCheckpoint: CheckpointHead | null = null;
  private keysHead: KeysHead | null = null;
  /** Events applied before this batch and in it: one more with each `apply`. */
  private applied: number;

  constructor(
    private readonly readModel: ReadModel,
    /** The batch before this one while it is being written (null once it is written). */
    private previous: ProjectionBatch | null,
    /** The skipped messages' records and the history of the events applied, as they come; the rest at commit. */
    private readonly writes: Writes,
    private readonly write: (
      writes: Writes,
      changed: ReadonlyMap<string, Aggregate>,
      newKeyIds: readonly string[],
      applied: number,
    ) => Promise<void>,
  ) {
    this.applied = previous?.applied ?? readModel.applied;
  }

  async aggregate(accountId: string): Promise<Aggregate | null> {
    return this.changedHere(accountId) ?? (await this.readModel.aggregate(accountId));
  }

  /** The account as this batch, or the one being written before it, leaves it. */
  private changedHere(accountId: string): Aggregate | undefined {
    return this.changed.get(accountId) ?? this.previous?.changedHere(accountId);
  }

  /** The last authentic stream checkpoint this batch passed (null: none). */
  get checkpointPassed(): CheckpointHead | null {
    return this.streamCheckpoint;
  }

  /** The last key statement that counted this batch passed (null: none). */
  get statementPassed(): KeysHead | null {
    return this.keysHead;
  }

  /** The account moves from `before` (as `aggregate` answered it) to `after` with the event at `position`. */
  apply(before: Aggregate | null, after: AccountState, position: DigestPosition, lastHash: string, storedAt: number): void {
    if (!this.before.has(after.id)) this.before.set(after.id, before?.state ?? null);
    this.applied += 1;
    const where = { seq: position.seq, applied: this.applied, storedAt };
    for (const { key, value } of historyRecords(before?.state ?? null, after, where)) this.writes.put(key, value);
    this.changed.set(after.id, { state: after, streamSeq: position.seq, lastHash });
    this.digest = position;
    this.lastSeq = position.seq;
  }

  /**
   * Moves past an event message that cannot be applied, and keeps why. The account's expected
   * sequence moves past it too (its state and chain do not), so that the account's next append
   * expects the message that is now last on its subject.
   */
  async skip(position: DigestPosition, entry: SkippedEntry, accountId: string | null): Promise<void> {
    this.writes.put(skippedKey(position.seq), entry);
    const aggregate = accountId === null ? null : await this.aggregate(accountId);
    if (aggregate !== null) {
      if (!this.before.has(aggregate.state.id)) this.before.set(aggregate.state.id, aggregate.state);
      this.changed.set(aggregate.state.id, { ...aggregate, streamSeq: position.seq });
    }
    this.digest = position;
    this.lastSeq = position.seq;
  }

  /** Moves past a message that is not an event (a name claim, a checkpoint, a key statement). */
  pass(seq: number): void {
    this.lastSeq = seq;
  }

  /** A key statement that counted was passed. */
  statementSeen(head: KeysHead): void {
    this.keysHead = head;
    this.lastSeq = head.seq;
  }

  /** An authentic stream checkpoint was passed: the next one chains to it. */
  checkpointSeen(head: CheckpointHead): void {
    this.streamCheckpoint = head;
    this.lastSeq = head.seq;
  }

  /**
   * Writes everything with the position of the last message, atomically: each account touched
   * once, as the batch left it, with the keys and indexes that differ from before the batch.
   */
  async commit(): Promise<void> {
    if (this.lastSeq === null) return this.discard();
    const ops = this.writes;
    const newKeyIds: string[] = [];
    for (const [accountId, { state, streamSeq, lastHash }] of this.changed) {
      const old = this.before.get(accountId) ?? null;
      const { keys, ...account } = state;
      const record: AccountRecord = { account, streamSeq, lastHash };
      ops.put(accountKey(accountId), record);
      for (const key of Object.values(keys)) {
        if (old?.keys[key.id] === key) continue;
        const value: KeyRecord = { ...key, accountId };
        ops.put(keyKey(key.id), value);
        if (old?.keys[key.id] === undefined) {
          ops.put(accountKeyIndex(accountId, key.id), "");
          newKeyIds.push(key.id);
        }
      }
      diffIndex(ops, nameIndex(old), nameIndex(state));
      diffIndex(ops, retentionIndex(old), retentionIndex(state));
    }
    ops.put(CHECKPOINT, this.lastSeq);
    ops.put(APPLIED, this.applied);
    if (this.digest !== null) ops.put(DIGEST, this.digest);
    if (this.streamCheckpoint !== null) ops.put(STREAM_CHECKPOINT, this.streamCheckpoint);
    if (this.keysHead !== null) ops.put(KEYS_HEAD, this.keysHead);
    await this.write(ops, this.changed, newKeyIds, this.applied);
    // Written, and so in the read model's own reads: what follows need not look here any more.
    this.previous = null;
  }

  /** Drops the batch unwritten (its operations are held by LevelDB's native batch until then). */
  async discard(): Promise<void> {
    await this.writes.close();
  }
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

function diffIndex(ops: Writes, before: Map<string, unknown>, after: Map<string, unknown>): void {
  for (const key of before.keys()) if (!after.has(key)) ops.del(key);
  for (const [key, value] of after) {
    if (JSON.stringify(before.get(key)) !== JSON.stringify(value)) ops.put(key, value);
  }
}
