// A column of whole numbers (Kafka offsets, times in ms) held as 32-bit differences from a base: 4 B a row where a
// Float64Array took 8. The owner keeps three such columns a series (combined-table.ts); their values lie close
// together (the offsets of one source partition, the times of the last `ttl`), far from 0 (a topic past 2^31 offsets,
// a relay up for 25 days).
//
// Rows fall into groups (the owner: by source partition, whose offsets have nothing to do with another's), each with
// its own base, set by the first value written to the group. A value that does not fit moves its group's base (the
// group's rows rewritten: one walk over the column, then at least 2^28 of room either way); where the group's values
// span more than 3 * 2^30, or a value is no whole number, the column holds doubles from then on (8 B a row, as before:
// exact either way).
const TWO_31 = 2 ** 31;
/** A group whose values span more than this is not rebased (each rebase leaves a quarter of the rest below, three above). */
const MOST_SPAN = 3 * 2 ** 30;

export class IntColumn {
  /** values minus their group's base, while every value fits */
  private rel: Int32Array | null;
  /** values, once one did not fit */
  private abs: Float64Array | null = null;
  /** the base of each group (undefined: nothing written to it yet) */
  private readonly bases: number[] = [];

  constructor(
    cap: number,
    /** the group of row `row` (a small integer ≥ 0) */
    private readonly groupOf: (row: number) => number,
    /** one past the last row in use */
    private readonly end: () => number,
    private readonly inUse: (row: number) => boolean,
  ) {
    this.rel = new Int32Array(cap);
  }

  /** Whether it holds 32-bit values (tests, diagnosis). */
  get narrow(): boolean {
    return this.rel !== null;
  }

  get capacity(): number {
    return this.rel !== null ? this.rel.length : this.abs!.length;
  }

  /** The value of row `row`, of group `g` (`groupOf(row)`, which the caller has at hand). */
  at(row: number, g: number): number {
    const rel = this.rel;
    return rel !== null ? this.bases[g]! + rel[row]! : this.abs![row]!;
  }

  set(row: number, g: number, v: number): void {
    const rel = this.rel;
    if (rel === null) {
      this.abs![row] = v;
      return;
    }
    const base = this.bases[g];
    if (base === undefined) {
      if (Number.isInteger(v) && !Object.is(v, -0)) {
        this.bases[g] = v;
        rel[row] = 0;
      } else this.widen(row, v);
      return;
    }
    const d = v - base;
    if ((d | 0) === d && base + d === v && !Object.is(v, -0)) rel[row] = d;
    else this.rebase(row, g, v);
  }

  /** Row `row` (of group `g`) made anew: its value is its group's base (0 for a group with none yet); the caller sets it before it matters. */
  clear(row: number, g: number): void {
    if (this.rel === null) this.abs![row] = 0;
    else {
      this.bases[g] ??= 0;
      this.rel[row] = 0;
    }
  }

  /** Row `from`'s value into row `to`, which takes `from`'s group (its source moves with it). */
  copy(from: number, to: number): void {
    if (this.rel !== null) this.rel[to] = this.rel[from]!;
    else this.abs![to] = this.abs![from]!;
  }

  /** The column at `cap` rows (the first `cap` kept). */
  resize(cap: number): void {
    if (this.rel !== null) {
      const b = new Int32Array(cap);
      b.set(this.rel.length <= cap ? this.rel : this.rel.subarray(0, cap));
      this.rel = b;
    } else {
      const b = new Float64Array(cap);
      b.set(this.abs!.length <= cap ? this.abs! : this.abs!.subarray(0, cap));
      this.abs = b;
    }
  }

  /** `v` (of group `g`) does not fit row `row`: the group's base moves so that it and the group's other values do, or the column widens. */
  private rebase(row: number, g: number, v: number): void {
    const rel = this.rel!;
    const old = this.bases[g]!;
    let lo = v;
    let hi = v;
    const end = this.end();
    for (let r = 0; r < end; r++) {
      if (r === row || !this.inUse(r) || this.groupOf(r) !== g) continue;
      const x = old + rel[r]!;
      if (x < lo) lo = x;
      else if (x > hi) hi = x;
    }
    if (!Number.isInteger(v) || Object.is(v, -0) || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi - lo > MOST_SPAN) {
      this.widen(row, v);
      return;
    }
    // lo at a quarter of the room left below it, hi three quarters below the top: values that go on growing (offsets,
    // times) rebase again only after 3/4 of the room.
    const room = 2 ** 32 - 1 - (hi - lo);
    const base = lo + TWO_31 - Math.floor(room / 4);
    const shift = old - base;
    for (let r = 0; r < end; r++) if (r !== row && this.inUse(r) && this.groupOf(r) === g) rel[r] = rel[r]! + shift;
    this.bases[g] = base;
    rel[row] = v - base;
  }

  /** From now on the column holds doubles. */
  private widen(row: number, v: number): void {
    const rel = this.rel!;
    const abs = new Float64Array(rel.length);
    const end = this.end();
    for (let r = 0; r < end; r++) if (r !== row && this.inUse(r)) abs[r] = (this.bases[this.groupOf(r)] ?? 0) + rel[r]!;
    abs[row] = v;
    this.abs = abs;
    this.rel = null;
  }
}
