/**
 * A bounded map that forgets the least recently used entry first (nearly: an entry counts as used
 * again only once it has aged by half the capacity). V8's Map keeps insertion order, but taking a
 * key out and in again costs time that grows with the map's size, so a hot entry must not be moved
 * on every read.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; stamp: number }>();
  private clock = 0;

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.stamp >= this.capacity / 2) this.renew(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.value = value;
      if (this.clock - entry.stamp >= this.capacity / 2) this.renew(key, entry);
      return;
    }
    this.entries.set(key, { value, stamp: ++this.clock });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private renew(key: K, entry: { value: V; stamp: number }): void {
    this.entries.delete(key);
    entry.stamp = ++this.clock;
    this.entries.set(key, entry);
  }
}

/**
 * Keeps recently read values of a store that only one writer changes, and stays exact: the writer
 * calls `changed` right after each write lands, and a read that was in flight across a write is
 * not kept (its value may predate the write).
 */
export class ReadThroughCache<K, V> {
  private readonly values: LruMap<K, V>;
  private writes = 0;

  constructor(capacity: number) {
    this.values = new LruMap(capacity);
  }

  async get(key: K, read: () => Promise<V | undefined>): Promise<V | undefined> {
    const cached = this.values.get(key);
    if (cached !== undefined) return cached;
    const before = this.writes;
    const value = await read();
    if (value !== undefined && this.writes === before) this.values.set(key, value);
    return value;
  }

  /** The value if it is in memory now. */
  peek(key: K): V | undefined {
    return this.values.get(key);
  }

  /** After a write: `key` now holds `value` (undefined: forget it). */
  changed(key: K, value?: V): void {
    this.writes += 1;
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
  }

  clear(): void {
    this.writes += 1;
    this.values.clear();
  }

  get size(): number {
    return this.values.size;
  }
}
