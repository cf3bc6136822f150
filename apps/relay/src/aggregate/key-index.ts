import { HashSlots } from './hash-slots.js';

/** The hash column's first length: a scope of a cron job holds ten inputs or so. */
const MIN_HASHES = 8;

/**
 * Series found by their key without holding a key string: an output series' key (`labelsKey` of its labels, with a
 * mode prefix for some modes) is as long as its labels and would be the largest thing it keeps (128 B of a series'
 * 600 in bench/relay-core.ts), so the aggregate's outputs keep only their labels and are indexed by a hash of the key
 * (hash-slots.ts: open addressing; with the item array and its hash column ~23 B a series where a V8 Map by hash took
 * ~35 B; keys a producer made to share a hash go to a map by key past a few). A lookup compares the key with each candidate's labels in place (`matches`:
 * labelsMatchKey, no string built).
 *
 * The series sit in an array in the order they were first set (one set again under its key keeps its place), which
 * iteration follows; a removed one leaves a hole, closed (order kept) when holes are half the array, at the end of an
 * iteration or by a `set` outside one. A restore that adds the series in the order iterated gets the same order back.
 */
export class KeyIndex<T extends object, K = string> {
  private items: Array<T | undefined> = [];
  /** the key hash of each place of `items` */
  private hashes = new Int32Array(MIN_HASHES);
  private holes = 0;
  /** iterations under way (`values`): no compaction moves the items meanwhile */
  private iterating = 0;
  private readonly index = new HashSlots<K>(
    (p) => this.hashes[p]!,
    (p, key) => {
      const item = this.items[p];
      return item !== undefined && this.matches(item, key);
    },
  );

  constructor(
    /** whether `item`'s key is `key` */
    private readonly matches: (item: T, key: K) => boolean,
    /** the hash of a key (a 32-bit integer; a test gives one that collides; keys other than strings give their own) */
    private readonly hash: (key: K) => number = keyHash as unknown as (key: K) => number,
  ) {}

  get size(): number {
    return this.index.size;
  }

  get(key: K): T | undefined {
    const p = this.index.find(key, this.hash(key));
    return p < 0 ? undefined : this.items[p];
  }

  /** `item` under `key` (its key), in place of the series of that key if there is one. */
  set(key: K, item: T): void {
    const h = this.hash(key);
    const held = this.index.find(key, h);
    if (held >= 0) {
      this.items[held] = item;
      return;
    }
    this.compactIfSparse();
    const p = this.items.length;
    this.items.push(item);
    if (p === this.hashes.length) {
      // By a quarter (as the owner's columns, combined-table.ts): the aggregate's outputs hold up to a quarter spare.
      const hashes = new Int32Array(Math.ceil(p * 1.25));
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.hashes[p] = h;
    this.index.add(key, h, p);
  }

  /** Removes the series of `key`; true if there was one. */
  delete(key: K): boolean {
    const p = this.index.find(key, this.hash(key));
    if (p < 0) return false;
    this.index.remove(key, p);
    this.items[p] = undefined;
    this.holes++;
    return true;
  }

  /** Every series; removing the one just yielded (or any other) while iterating is safe. */
  *values(): IterableIterator<T> {
    this.iterating++;
    try {
      const items = this.items;
      for (let p = 0; p < items.length; p++) {
        const item = items[p];
        if (item !== undefined) yield item;
      }
    } finally {
      this.iterating--;
      // (The walks that remove many — a collect's expiry — leave their holes here, not until the next new series.)
      this.compactIfSparse();
    }
  }

  /** Closes the holes, keeping the order, once they are half the array and no iteration is under way. */
  private compactIfSparse(): void {
    if (this.iterating > 0 || this.holes <= 64 || 2 * this.holes <= this.items.length) return;
    const items = this.items;
    const moved = new Int32Array(items.length).fill(-1);
    let to = 0;
    for (let p = 0; p < items.length; p++) {
      const item = items[p];
      if (item === undefined) continue;
      items[to] = item;
      this.hashes[to] = this.hashes[p]!;
      moved[p] = to++;
    }
    items.length = to;
    this.holes = 0;
    if (this.hashes.length > 4 * Math.max(to, MIN_HASHES)) this.hashes = this.hashes.slice(0, 2 * Math.max(to, MIN_HASHES));
    this.index.renumber(moved);
  }
}

/**
 * FNV-1a of a key taken two UTF-16 code units at a time (one 32-bit word per step: half the steps; each step is a
 * bijection of the state, so keys that differ in one word never collide), the length mixed in last. A small integer:
 * a Map key without a heap number.
 */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  const n = key.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = Math.imul(h ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x01000193);
  if (i < n) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ n, 0x01000193);
}
