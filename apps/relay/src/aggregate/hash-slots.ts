/**
 * An open-addressing index of positions (rows of columns, places in an array) by the hash of their key, for series that
 * keep no key string: the aggregate's outputs (key-index.ts) and the owner's series (repartition/combined-table.ts).
 * Linear probing, at most half full, backward-shift deletes (no tombstones). A slot is as wide as the positions it
 * holds need: a byte while they stay below 255 (a scope's inputs, most often), two below 65,535, else four: 2–11 B of
 * slots a position; with the caller's item and hash columns ~20–25 B, where a V8 Map by hash took ~35 B an entry.
 *
 * The caller keeps each position's hash (`hashAt`) and says whether a position holds a key (`matches`, comparing the
 * item's labels in place). The hash (keyHash, FNV-1a) is not a secret: a producer can write many keys of one hash, so
 * past BIG_RUN positions of one hash on a probe run, the others go to a map by key string (V8's seeded hash); where a
 * hash lands is mixed with a random seed, so a producer cannot aim different hashes at one run either.
 */
const BIG_RUN = 8;
const MIN_SLOTS = 16;

type Slots = Uint8Array | Uint16Array | Int32Array;

/** Slots of `size` wide enough for `top` (the largest position + 1 they will hold). */
function slotsFor(size: number, top: number): Slots {
  return top <= 0xff ? new Uint8Array(size) : top <= 0xffff ? new Uint16Array(size) : new Int32Array(size);
}

/** The largest position + 1 `slots` can hold. */
function topOf(slots: Slots): number {
  return slots instanceof Uint8Array ? 0xff : slots instanceof Uint16Array ? 0xffff : 0x7fffffff;
}

export class HashSlots<K = string> {
  /** position + 1 per slot, 0 empty */
  private slots: Slots = new Uint8Array(MIN_SLOTS);
  /** the largest position + 1 the slots can hold (their width) */
  private top = 0xff;
  private count = 0;
  /** positions whose hash had BIG_RUN others on its probe run, by key */
  private overflow: Map<K, number> | null = null;
  private readonly seed = (Math.random() * 0x100000000) | 0;

  constructor(
    /** the hash of the key at `pos` (the caller's column) */
    private readonly hashAt: (pos: number) => number,
    /** whether `pos` holds `key` */
    private readonly matches: (pos: number, key: K) => boolean,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The position of `key` (whose hash is `h`), or -1. */
  find(key: K, h: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = this.home(h); ; i = (i + 1) & mask) {
      const p = slots[i]! - 1;
      if (p < 0) break;
      if (this.hashAt(p) === h && this.matches(p, key)) return p;
    }
    return this.overflow === null ? -1 : (this.overflow.get(key) ?? -1);
  }

  /** `pos` (hash `h` at `hashAt(pos)` already, key `key`, in no slot) into the index. */
  add(key: K, h: number, pos: number): void {
    this.count++;
    if (pos >= this.top) this.resize(this.slots.length, null, pos + 1);
    if (2 * this.count > this.slots.length) this.resize(2 * this.slots.length, null, this.top);
    const slots = this.slots;
    const mask = slots.length - 1;
    let same = 0;
    let i = this.home(h);
    for (; slots[i] !== 0; i = (i + 1) & mask) if (this.hashAt(slots[i]! - 1) === h) same++;
    if (same >= BIG_RUN) (this.overflow ??= new Map()).set(key, pos);
    else slots[i] = pos + 1;
  }

  /** Takes `pos`, found by `find(key, …)`, out of the index. */
  remove(key: K, pos: number): void {
    this.count--;
    if (this.overflow !== null && this.overflow.get(key) === pos) {
      this.overflow.delete(key);
      if (this.overflow.size === 0) this.overflow = null;
      return;
    }
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.home(this.hashAt(pos));
    while (slots[i] !== pos + 1) {
      // (A position `find` returned is on its probe run: an empty slot first would be a broken index, never a hang.)
      if (slots[i] === 0) throw new Error(`hash slots: position ${pos} is not in its index`);
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const p = slots[j]! - 1;
      if (p < 0) break;
      const k = this.home(this.hashAt(p));
      // p may fill the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? k <= i || k > j : k <= i && k > j) {
        slots[i] = p + 1;
        i = j;
      }
    }
    slots[i] = 0;
  }

  /** The positions moved (`moved[old]` is the new one, `hashAt` already answering for it): the index again, sized to fit. */
  renumber(moved: Int32Array): void {
    if (this.overflow !== null) for (const [key, p] of this.overflow) this.overflow.set(key, moved[p]!);
    let size = MIN_SLOTS;
    while (size < 2 * this.count) size *= 2;
    let top = 0;
    for (let p = 0; p < moved.length; p++) if (moved[p]! >= top) top = moved[p]! + 1;
    this.resize(size, moved, top);
  }

  private home(h: number): number {
    let x = h ^ this.seed;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) & (this.slots.length - 1);
  }

  /** The slots again at `size`, wide enough for positions below `top`, from the positions in them (renumbered by `moved` when given). */
  private resize(size: number, moved: Int32Array | null, top: number): void {
    const old = this.slots;
    const slots = (this.slots = slotsFor(size, top));
    this.top = topOf(slots);
    const mask = size - 1;
    for (let s = 0; s < old.length; s++) {
      if (old[s] === 0) continue;
      const p = moved === null ? old[s]! - 1 : moved[old[s]! - 1]!;
      let i = this.home(this.hashAt(p));
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = p + 1;
    }
  }
}
