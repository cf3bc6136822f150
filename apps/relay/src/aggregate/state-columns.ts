/**
 * Column helpers of the aggregate state (state.ts, version 3): a string table, columns sized once, and runs for the
 * columns where values repeat (a family, a job, a label value shared by a run of series).
 */

/** Non-negative integers, where `-c, v` stands for c times v. */
export type Runs = number[];

/** Strings by index: each stored once; `at(slot, v)` remembers the last string of a slot (runs of one value are common). */
export class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly lastString: Array<string | null> = [];
  private readonly lastIndex: number[] = [];

  of(v: string): number {
    let i = this.index.get(v);
    if (i === undefined) {
      i = this.list.length;
      this.index.set(v, i);
      this.list.push(v);
    }
    return i;
  }

  at(slot: number, v: string): number {
    if (this.lastString[slot] === v) return this.lastIndex[slot]!;
    const i = this.of(v);
    this.lastString[slot] = v;
    this.lastIndex[slot] = i;
    return i;
  }
}

/** Writes a `Runs` column; `done()` gives it. */
export class RunWriter {
  private readonly list: Runs = [];
  private last = -1;
  private count = 0;

  add(v: number): void {
    if (v === this.last) {
      this.count++;
      return;
    }
    this.flush();
    this.last = v;
    this.count = 1;
  }

  done(): Runs {
    this.flush();
    this.count = 0;
    return this.list;
  }

  private flush(): void {
    if (this.count === 1) this.list.push(this.last);
    else if (this.count > 1) this.list.push(-this.count, this.last);
  }
}

/** Reads a `Runs` column value by value; throws when it ends early or holds something else. */
export class RunReader {
  private at = 0;
  private left = 0;
  private value = 0;

  constructor(
    private readonly list: Runs,
    private readonly what: string,
  ) {
    if (!Array.isArray(list)) throw new Error(`${what} is missing`);
  }

  next(): number {
    if (this.left > 0) {
      this.left--;
      return this.value;
    }
    const v = this.list[this.at++];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${this.what} ends early or holds ${String(v)}`);
    if (v >= 0) return v;
    this.left = -v - 1;
    this.value = this.list[this.at++]!;
    if (typeof this.value !== 'number' || !Number.isInteger(this.value) || this.value < 0) throw new Error(`${this.what} has a run of ${String(this.value)}`);
    return this.value;
  }

  /** Throws unless every value was read. */
  end(): void {
    if (this.left > 0 || this.at !== this.list.length) throw new Error(`${this.what} has more values than rows`);
  }
}

/**
 * Columns of a known length, each a `slice` of one packed array of zeros (grown by doubling: 2n allocated, n the
 * longest): sized once, and packed — JSON.stringify takes its fast path over packed arrays, about twice as fast as
 * over the holey ones `new Array(n)` gives.
 */
export class Columns {
  private readonly zeros: number[];

  constructor(longest: number) {
    let zeros = [0];
    while (zeros.length < longest) zeros = zeros.concat(zeros);
    this.zeros = zeros;
  }

  of<T = number>(n: number): T[] {
    return this.zeros.slice(0, n) as unknown as T[];
  }
}

/**
 * Objects kept for their hidden class: V8 collects the hidden class (map) of objects that have no instance left at a
 * full GC and throws away the code optimized for it, so a checkpoint taken every 30 s with full GCs in between would
 * run unoptimized each time (`toState` of 100k series: 100 ms CPU instead of 49 ms after two full GCs).
 */
const kept: object[] = [];

export function keepShape<T extends object>(instance: T): T {
  kept.push(instance);
  return instance;
}

keepShape(new StringTable());
keepShape(new RunWriter()).add(0);
keepShape(new RunReader([], 'kept'));
keepShape(new Columns(1));

/** `v`, as a small integer where it is one: a column of them stays an array of small integers (a double makes V8
 *  copy it into an array of doubles, which JSON.stringify writes more slowly). */
export function small(v: number): number {
  return v === (v | 0) ? v | 0 : v;
}
