import { randomBytes } from "node:crypto";

/** 2^24 bits (2 MiB): for a million key ids, about one false "maybe" in 1,800 lookups. */
const BITS = 1 << 24;
const PROBES = 7;

/**
 * Which key ids the read model may hold: a Bloom filter in memory, so that verification answers an
 * unknown key id with the same work as a key it holds in its cache — a lookup here and one in the
 * cache, then the constant-time comparison against a stand-in hash — instead of a LevelDB read that
 * would take measurably longer and tell a prober which ids exist. "No" is certain; "maybe" is
 * looked up. The filter is built in the background from the read model at start (until then
 * every lookup goes to LevelDB, as before) and learns each key the projector writes.
 *
 * The positions are a seeded hash of the id, the seed random per read model (kept with the filter
 * a clean shutdown saves), so nobody can make up ids that all land on set bits.
 */
export class KeyIdFilter {
  private readonly bits = new Uint8Array(BITS / 8);
  private seeds: [number, number];
  private complete = false;

  constructor() {
    const seed = randomBytes(8);
    this.seeds = [seed.readUInt32LE(0), seed.readUInt32LE(4) | 1];
  }

  /** Whether every key id of the read model was added (before that, `mightHold` says yes to all). */
  get ready(): boolean {
    return this.complete;
  }

  markComplete(): void {
    this.complete = true;
  }

  /** Forgets every id (the read model was cleared); ready again, since an empty read model holds none. */
  reset(): void {
    this.bits.fill(0);
    this.complete = true;
  }

  /** The filter's bits with its hash seeds, to be restored at the next start. */
  save(): Buffer {
    const seeds = Buffer.alloc(8);
    seeds.writeUInt32LE(this.seeds[0], 0);
    seeds.writeUInt32LE(this.seeds[1] >>> 0, 4);
    return Buffer.concat([seeds, this.bits]);
  }

  /** Takes bytes `save` wrote (the hash seeds with them); answers whether they fit. */
  restore(saved: Uint8Array): boolean {
    if (saved.length !== this.bits.length + 8) return false;
    const bytes = Buffer.from(saved.buffer, saved.byteOffset, saved.length);
    this.bits.set(bytes.subarray(8));
    this.seeds = [bytes.readUInt32LE(0), bytes.readUInt32LE(4) | 1];
    this.complete = true;
    return true;
  }

  add(keyId: string): void {
    const [h1, h2] = this.hashes(keyId);
    for (let i = 0; i < PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) & (BITS - 1);
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  /** False only when the read model surely holds no key of this id. */
  mightHold(keyId: string): boolean {
    const [h1, h2] = this.hashes(keyId);
    let all = true;
    // Every probe is made whatever the earlier ones said: the same work for every id.
    for (let i = 0; i < PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) & (BITS - 1);
      all = ((this.bits[bit >>> 3]! >>> (bit & 7)) & 1) === 1 && all;
    }
    return all || !this.complete;
  }

  /** Two seeded 32-bit FNV-1a hashes of the id (double hashing gives the probes). */
  private hashes(keyId: string): [number, number] {
    let a = 0x811c9dc5 ^ this.seeds[0];
    let b = 0x811c9dc5 ^ this.seeds[1];
    for (let i = 0; i < keyId.length; i++) {
      const c = keyId.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193);
    }
    return [a >>> 0, (b | 1) >>> 0];
  }
}
