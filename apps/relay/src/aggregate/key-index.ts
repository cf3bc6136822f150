/**
 * Series found by their key without holding a key string: an output series' key (`labelsKey` of its labels, with a
 * mode prefix for some modes) is as long as its labels and would be the largest thing it keeps (128 B of a series'
 * 600 in bench/relay-core.ts), so the aggregate's outputs and the owner's combined series keep only their labels and
 * are indexed by a hash of the key. A lookup compares the key with each candidate's labels in place (`matches`:
 * labelsMatchKey, no string built); a key is built (`keyOf`) only to remove a series, or to spread a big bucket.
 *
 * The hash (FNV-1a) is not a secret: a producer can write many label sets of one hash. A bucket of more than
 * BIG_BUCKET series becomes a map by key string (V8's seeded hash), which holds those keys: no lookup scans a long
 * list, and only colliding series pay for a key.
 *
 * Iteration follows the buckets' first insertion (not each series'): deterministic for a sequence of operations, and
 * a restore that adds the series in the order iterated gets the same order back.
 */

type Bucket<T> = T | T[] | Map<string, T>;
const BIG_BUCKET = 8;

export class KeyIndex<T extends object> {
  private readonly index = new Map<number, Bucket<T>>();
  private count = 0;

  constructor(
    /** whether `item`'s key is `key` */
    private readonly matches: (item: T, key: string) => boolean,
    /** `item`'s key, built */
    private readonly keyOf: (item: T) => string,
    /** the hash of a key (a test gives one that collides) */
    private readonly hash: (key: string) => number = keyHash,
  ) {}

  get size(): number {
    return this.count;
  }

  get(key: string): T | undefined {
    const found = this.index.get(this.hash(key));
    if (found === undefined) return undefined;
    if (found instanceof Map) return found.get(key);
    if (!Array.isArray(found)) return this.matches(found, key) ? found : undefined;
    for (let i = 0; i < found.length; i++) if (this.matches(found[i]!, key)) return found[i];
    return undefined;
  }

  /** `item` under `key` (its key), in place of the series of that key if there is one. */
  set(key: string, item: T): void {
    const h = this.hash(key);
    const found = this.index.get(h);
    if (found === undefined) {
      this.index.set(h, item);
      this.count++;
    } else if (found instanceof Map) {
      if (!found.has(key)) this.count++;
      found.set(key, item);
    } else if (!Array.isArray(found)) {
      if (this.matches(found, key)) this.index.set(h, item);
      else {
        this.index.set(h, [found, item]);
        this.count++;
      }
    } else {
      for (let i = 0; i < found.length; i++) {
        if (this.matches(found[i]!, key)) {
          found[i] = item;
          return;
        }
      }
      this.count++;
      if (found.length < BIG_BUCKET) {
        found.push(item);
        return;
      }
      const big = new Map<string, T>();
      for (const e of found) big.set(this.keyOf(e), e);
      big.set(key, item);
      this.index.set(h, big);
    }
  }

  /** Removes the series of `key`; true if there was one. */
  delete(key: string): boolean {
    const h = this.hash(key);
    const found = this.index.get(h);
    if (found === undefined) return false;
    if (found instanceof Map) {
      if (!found.delete(key)) return false;
      if (found.size === 0) this.index.delete(h);
    } else if (!Array.isArray(found)) {
      if (!this.matches(found, key)) return false;
      this.index.delete(h);
    } else {
      const i = found.findIndex((e) => this.matches(e, key));
      if (i < 0) return false;
      found.splice(i, 1);
      if (found.length === 1) this.index.set(h, found[0]!);
    }
    this.count--;
    return true;
  }

  /** Every series; removing the one just yielded (or any other) while iterating is safe. */
  *values(): IterableIterator<T> {
    for (const found of this.index.values()) {
      if (found instanceof Map) yield* [...found.values()];
      else if (Array.isArray(found)) yield* found.slice();
      else yield found;
    }
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
