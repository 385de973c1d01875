import { describe, expect, it } from "vitest";
import { LruMap, ReadThroughCache } from "../../../src/projections/read-cache.js";

/** A promise its test settles by hand: it holds a read in flight. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** A read callback that counts its calls and answers from `source`. */
function counting<V>(source: () => V | undefined) {
  const read = async (): Promise<V | undefined> => {
    read.calls += 1;
    return source();
  };
  read.calls = 0;
  return read;
}

const keysOf = <K, V>(map: LruMap<K, V>, candidates: readonly K[]): K[] => candidates.filter((key) => map.get(key) !== undefined);

describe("LruMap", () => {
  it("never holds more entries than its capacity", () => {
    const map = new LruMap<number, string>(4);
    for (let i = 0; i < 50; i++) {
      map.set(i, `v${i}`);
      expect(map.size).toBe(Math.min(i + 1, 4));
    }
    expect(map.capacity).toBe(4);
  });

  it("evicts the oldest-inserted entry first", () => {
    const map = new LruMap<string, number>(3);
    for (const [index, key] of ["a", "b", "c", "d", "e"].entries()) map.set(key, index);
    expect(map.size).toBe(3);
    expect(map.get("a")).toBeUndefined();
    expect(map.get("b")).toBeUndefined();
    expect(map.get("c")).toBe(2);
    expect(map.get("d")).toBe(3);
    expect(map.get("e")).toBe(4);
  });

  it("keeps an entry read once it aged by half the capacity, and evicts an un-read one instead", () => {
    const map = new LruMap<string, number>(4);
    map.set("a", 1);
    map.set("b", 2);
    map.set("c", 3);
    // Two insertions after "a": it has aged by capacity / 2, so this read counts as a use.
    expect(map.get("a")).toBe(1);
    map.set("d", 4);
    map.set("e", 5);
    expect(map.size).toBe(4);
    expect(map.get("b")).toBeUndefined();
    expect(keysOf(map, ["a", "c", "d", "e"])).toEqual(["a", "c", "d", "e"]);
  });

  it("does not count a read of an entry younger than half the capacity as a use", () => {
    const map = new LruMap<string, number>(4);
    map.set("a", 1);
    map.set("b", 2);
    // "a" has aged by one insertion only: reading it leaves it first in line.
    expect(map.get("a")).toBe(1);
    map.set("c", 3);
    map.set("d", 4);
    map.set("e", 5);
    expect(map.get("a")).toBeUndefined();
    expect(keysOf(map, ["b", "c", "d", "e"])).toEqual(["b", "c", "d", "e"]);
  });

  it("replaces the value of an existing key without growing, and counts an aged one as used", () => {
    const map = new LruMap<string, number>(4);
    map.set("a", 1);
    map.set("b", 2);
    map.set("c", 3);
    // "a" has aged by two insertions: replacing its value counts as a use (no read here, which would count too).
    map.set("a", 10);
    expect(map.size).toBe(3);
    map.set("d", 4);
    map.set("e", 5);
    expect(map.get("a")).toBe(10);
    expect(map.get("b")).toBeUndefined();
    expect(map.size).toBe(4);
  });

  it("deletes one key and clears all, and goes on evicting in order afterwards", () => {
    const map = new LruMap<string, number>(3);
    map.set("a", 1);
    map.set("b", 2);
    map.delete("a");
    map.delete("absent");
    expect(map.get("a")).toBeUndefined();
    expect(map.get("b")).toBe(2);
    expect(map.size).toBe(1);

    map.clear();
    expect(map.size).toBe(0);
    expect(map.get("b")).toBeUndefined();

    for (const [index, key] of ["w", "x", "y", "z"].entries()) map.set(key, index);
    expect(map.size).toBe(3);
    expect(map.get("w")).toBeUndefined();
    expect(keysOf(map, ["x", "y", "z"])).toEqual(["x", "y", "z"]);
  });
});

describe("ReadThroughCache", () => {
  it("reads a value once and then answers it from memory", async () => {
    const cache = new ReadThroughCache<string, { n: number }>(10);
    const value = { n: 1 };
    const read = counting(() => value);
    expect(await cache.get("k", read)).toBe(value);
    expect(await cache.get("k", read)).toBe(value);
    expect(await cache.get("k", read)).toBe(value);
    expect(read.calls).toBe(1);
    expect(cache.size).toBe(1);

    const other = counting(() => ({ n: 2 }));
    expect(await cache.get("other", other)).toEqual({ n: 2 });
    expect(other.calls).toBe(1);
  });

  it("does not keep an undefined answer: the next get reads again", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    let stored: string | undefined;
    const read = counting(() => stored);
    expect(await cache.get("k", read)).toBeUndefined();
    expect(await cache.get("k", read)).toBeUndefined();
    expect(read.calls).toBe(2);
    expect(cache.size).toBe(0);

    stored = "now here";
    expect(await cache.get("k", read)).toBe("now here");
    expect(await cache.get("k", read)).toBe("now here");
    expect(read.calls).toBe(3);
  });

  it("does not keep a read that was in flight while the key changed", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    const held = deferred<string>();
    const inFlight = cache.get("k", () => held.promise);
    cache.changed("k");
    held.resolve("before the write");
    // The caller of the racing read gets what it read; the cache does not keep it.
    expect(await inFlight).toBe("before the write");
    expect(cache.size).toBe(0);

    const read = counting(() => "after the write");
    expect(await cache.get("k", read)).toBe("after the write");
    expect(read.calls).toBe(1);
  });

  it("answers the written value, not an older read that lands after the write", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    const held = deferred<string>();
    const inFlight = cache.get("k", () => held.promise);
    cache.changed("k", "written");
    held.resolve("stale");
    expect(await inFlight).toBe("stale");

    const read = counting(() => "from the store");
    expect(await cache.get("k", read)).toBe("written");
    expect(read.calls).toBe(0);
  });

  it("answers the value given to changed(key, value) without reading", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    const read = counting(() => "from the store");
    expect(await cache.get("k", read)).toBe("from the store");

    cache.changed("k", "new");
    expect(await cache.get("k", read)).toBe("new");
    cache.changed("fresh", "set without a read");
    expect(await cache.get("fresh", read)).toBe("set without a read");
    expect(read.calls).toBe(1);
  });

  it("forgets a key on changed(key) and reads it again", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    let stored = "v1";
    const read = counting(() => stored);
    const keep = counting(() => "kept");
    expect(await cache.get("k", read)).toBe("v1");
    expect(await cache.get("other", keep)).toBe("kept");

    stored = "v2";
    cache.changed("k");
    expect(await cache.get("k", read)).toBe("v2");
    expect(read.calls).toBe(2);
    // Only that key was forgotten.
    expect(await cache.get("other", keep)).toBe("kept");
    expect(keep.calls).toBe(1);
  });

  it("forgets everything on clear(), and does not keep a read that was in flight across it", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    const a = counting(() => "a");
    const b = counting(() => "b");
    await cache.get("a", a);
    await cache.get("b", b);
    expect(cache.size).toBe(2);

    const held = deferred<string>();
    const inFlight = cache.get("c", () => held.promise);
    cache.clear();
    expect(cache.size).toBe(0);
    held.resolve("read before the clear");
    expect(await inFlight).toBe("read before the clear");
    expect(cache.size).toBe(0);

    await cache.get("a", a);
    await cache.get("b", b);
    expect([a.calls, b.calls]).toEqual([2, 2]);
    const c = counting(() => "c now");
    expect(await cache.get("c", c)).toBe("c now");
    expect(c.calls).toBe(1);
  });

  it("peeks at what is in memory without reading", async () => {
    const cache = new ReadThroughCache<string, string>(10);
    expect(cache.peek("k")).toBeUndefined();
    const read = counting(() => "read");
    await cache.get("k", read);
    expect(cache.peek("k")).toBe("read");
    cache.changed("k", "written");
    expect(cache.peek("k")).toBe("written");
    cache.changed("k");
    expect(cache.peek("k")).toBeUndefined();
    expect(read.calls).toBe(1);
  });

  it("stays within its capacity", async () => {
    const cache = new ReadThroughCache<number, number>(3);
    for (let i = 0; i < 10; i++) await cache.get(i, async () => i * i);
    expect(cache.size).toBe(3);
    const read = counting(() => -1);
    expect(await cache.get(9, read)).toBe(81);
    expect(await cache.get(0, read)).toBe(-1);
    expect(read.calls).toBe(1);
  });
});
