/**
 * A number per input series of one producer scope: its counter baselines (the last cumulative value of each
 * counter-like input it pushed, which turns its next value into an increase) and its sample times (the newest applied
 * per input, for points that carry one). One per input series and live producer: a job that runs every 5 minutes, each
 * run a new producer kept for `producerTtlMs` (1 h), holds 12 baselines per series, so their size is most of what such
 * a relay holds (bench/relay-core.ts `--child relay-owner-cron`). A V8 Map took ~36 B an entry, 52 with a value that is
 * not a small integer (a boxed double); this keeps ~16–20 B.
 *
 * Inputs get an id when made (InputSeries.id, consecutive in the order they are made), and a producer pushes the
 * series of a scope together, so the inputs it holds have nearby ids: the numbers sit in a window of two arrays
 * indexed by `id - base`, the inputs (which confirm a place: ids wrap, and an input's place is its own only while it
 * is there) and their values (a double array: no boxes). An input whose id falls far outside a window that would then
 * be mostly empty goes to a V8 Map beside it. No input is in both.
 */
import type { InputSeries } from './series.js';

/** How far past twice its entries a window may grow to take an input in (the rest go to the map). */
const SLACK = 16;

export class InputNumbers {
  /** the id of the input at window place 0 */
  private base = 0;
  private inputs: Array<InputSeries | undefined> = [];
  private vals: number[] = [];
  /** inputs in the window */
  private count = 0;
  private other: Map<InputSeries, number> | null = null;
  /** its length at the last `fit` that copied it */
  private fitted = 0;

  get size(): number {
    return this.count + (this.other === null ? 0 : this.other.size);
  }

  /** How many sit in the map, not the window (tests, diagnosis). */
  get mapped(): number {
    return this.other === null ? 0 : this.other.size;
  }

  get(input: InputSeries): number | undefined {
    const pos = input.id - this.base;
    if (pos >= 0 && pos < this.inputs.length && this.inputs[pos] === input) return this.vals[pos];
    return this.other === null ? undefined : this.other.get(input);
  }

  has(input: InputSeries): boolean {
    return this.get(input) !== undefined;
  }

  set(input: InputSeries, v: number): void {
    const inputs = this.inputs;
    let pos = input.id - this.base;
    if (pos >= 0 && pos < inputs.length) {
      const held = inputs[pos];
      if (held === input) {
        this.vals[pos] = v;
        return;
      }
      if (held === undefined && !this.inOther(input)) {
        inputs[pos] = input;
        this.vals[pos] = v;
        this.count++;
        return;
      }
    } else if (!this.inOther(input)) {
      if (this.count === 0) {
        this.base = input.id;
        this.inputs = [input];
        this.vals = [v];
        this.count = 1;
        this.fitted = 0;
        return;
      }
      const most = 2 * (this.count + 1) + SLACK;
      const len = pos >= 0 ? pos + 1 : inputs.length - pos;
      if (len <= most) {
        if (pos < 0) {
          // A push that meets its inputs from the last made to the first moves the window down at each: by as much
          // again as it holds (within `most`), so a push of n such inputs copies O(n) places, not O(n²).
          const room = Math.max(-pos, Math.min(inputs.length, most - inputs.length));
          this.moveBase(room);
          pos += room;
        }
        while (this.inputs.length <= pos) {
          this.inputs.push(undefined);
          this.vals.push(0);
        }
        this.inputs[pos] = input;
        this.vals[pos] = v;
        this.count++;
        return;
      }
    }
    (this.other ??= new Map()).set(input, v);
  }

  delete(input: InputSeries): boolean {
    const pos = input.id - this.base;
    if (pos >= 0 && pos < this.inputs.length && this.inputs[pos] === input) {
      // (A hole, nothing moved: deleting while `forEach` walks is safe. `tidy` closes the window after a walk.)
      this.inputs[pos] = undefined;
      this.count--;
      return true;
    }
    if (this.other === null || !this.other.delete(input)) return false;
    if (this.other.size === 0) this.other = null;
    return true;
  }

  /** Every entry, the window's in id order, then the others; `delete` of any during the walk is safe. */
  forEach(fn: (v: number, input: InputSeries) => void): void {
    for (let i = 0; i < this.inputs.length; i++) {
      const input = this.inputs[i];
      if (input !== undefined) fn(this.vals[i]!, input);
    }
    this.other?.forEach(fn);
  }

  /**
   * After deletes (not during a walk): the window trimmed to its first and last inputs, and, where fewer than a
   * quarter of its places are left holding one, its inputs moved to the map.
   */
  tidy(): void {
    const inputs = this.inputs;
    if (this.count === 0) {
      if (inputs.length > 0) {
        this.inputs = [];
        this.vals = [];
        this.fitted = 0;
      }
      return;
    }
    let first = 0;
    while (inputs[first] === undefined) first++;
    let end = inputs.length;
    while (inputs[end - 1] === undefined) end--;
    if (end - first > 4 * this.count + SLACK) {
      const other = (this.other ??= new Map());
      for (let i = first; i < end; i++) if (inputs[i] !== undefined) other.set(inputs[i]!, this.vals[i]!);
      this.inputs = [];
      this.vals = [];
      this.count = 0;
      this.fitted = 0;
    } else if (first > 0 || end < inputs.length) {
      this.inputs = inputs.slice(first, end);
      this.vals = this.vals.slice(first, end);
      this.base += first;
      this.fitted = this.inputs.length;
    }
  }

  /**
   * The window's arrays without the room they grew ahead (an array grows by half again): called once a push has
   * added what it adds, so a producer's numbers cost their 16 B, not up to half as much again. Only once the window
   * is half as large again as at the last fit: a copy of the whole window for each push that adds one input would
   * make a producer's pushes cost as much as its window, not as their own size.
   */
  fit(): void {
    const len = this.inputs.length;
    if (len === this.fitted || 2 * len < 3 * this.fitted) return;
    this.inputs = this.inputs.slice();
    this.vals = this.vals.slice();
    this.fitted = this.inputs.length;
  }

  private inOther(input: InputSeries): boolean {
    return this.other !== null && this.other.has(input);
  }

  /** The window `room` places lower, its places kept. */
  private moveBase(room: number): void {
    const inputs: Array<InputSeries | undefined> = new Array<InputSeries | undefined>(room).fill(undefined);
    const vals: number[] = new Array<number>(room).fill(0);
    this.inputs = inputs.concat(this.inputs);
    this.vals = vals.concat(this.vals);
    this.base -= room;
  }
}
