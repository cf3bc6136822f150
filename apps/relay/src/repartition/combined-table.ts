// The owner's series as rows of typed columns (no object per series): an owner holds one row per output series it
// writes, and an object per series (its fields, its box for a double, its entry in a Map by hash) cost ~150 B of the
// ~590 B a relay holds per series (bench/relay-core.ts). A row is 34 B of columns (42 once a `last` or `avg` series
// needs the `aux` column; the offset and the times 4 B each while they fit in 32 bits from a base: int-column.ts; the
// source 2 B while there are fewer than 32,767), up to a quarter more spare, and 8–16 B of index.
//
// Rows are found by their id (Combined.key) through an open-addressing index of the id's hash (aggregate/hash-slots.ts,
// keyHash as the aggregate's outputs), compared with the row's labels in place (no id string kept).
//
// Rows are kept in the order the series were first made (a series that replaces another under its id takes its row):
// iteration follows it, as the Map it replaces did. Freed rows are holes until `compact`, which the owner calls where
// no cursor is held (the end of its collect).
import type { Labels } from '@prom-relay/codec';
import { HashSlots } from '../aggregate/hash-slots.js';
import { keyHash } from '../aggregate/key-index.js';
import { labelsMatchKey } from '../aggregate/labels.js';
import type { CombineMode } from '../model.js';
import { IntColumn } from './int-column.js';

const MIN_ROWS = 64;
/**
 * How much a full table grows: by a quarter, not twice (a table of n rows holds at most 0.25n spare, where doubling
 * left up to n — 31 % of the columns spare at 100k series — and a growth holds 2.25x the columns for a moment, not 3x).
 * A growth copies the columns (a memcpy of ~40 B a row); by a quarter each row is copied ~4 times over the table's life.
 */
const GROWTH = 1.25;

/** How the series' id is built from its labels and mode: a mode prefix and U+0000 for the modes a receiver cannot tell apart. */
export function idPrefixOf(mode: CombineMode): string {
  return mode === 'total' || mode === 'last' || mode === 'native' ? '' : mode;
}

/** The id of a series of `mode` whose labels' key is `key`: modes a receiver cannot tell apart by name share one. */
export function idOf(mode: CombineMode, key: string): string {
  const prefix = idPrefixOf(mode);
  return prefix === '' ? key : prefix + '\u0000' + key;
}

/** Whether `id` is the id of a series of `labels` and `mode`, compared in place. */
export function matchesId(labels: Labels, mode: CombineMode, id: string): boolean {
  const prefix = idPrefixOf(mode);
  if (prefix === '') return labelsMatchKey(labels, id, 0);
  return id.startsWith(prefix) && id.charCodeAt(prefix.length) === 0 && labelsMatchKey(labels, id, prefix.length + 1);
}

export class CombinedTable {
  // Columns, by row. A row whose labels are undefined is free.
  labels: Array<Labels | undefined> = [];
  value = new Float64Array(MIN_ROWS);
  /** the first source's offset and when it was heard of, by source (int-column.ts: 4 B a row while they fit) */
  readonly offset: IntColumn = this.intColumn((row) => this.src[row]! + 1);
  readonly heard: IntColumn = this.intColumn((row) => this.src[row]! + 1);
  /** when the series was last written to */
  readonly seen: IntColumn = this.intColumn(() => 0);
  /** last: a time, avg: a count (combined.ts `aux`); made when a row first needs it: a relay of counters has none */
  private aux: Float64Array | null = null;
  packed = new Float64Array(MIN_ROWS);
  /**
   * the first source's index in `sources`, -1 for none (set through `setSrc`: the group of its offset and time); 16
   * bits until the table has heard of 32,767 source partitions, then 32
   */
  src: Int16Array | Int32Array = new Int16Array(MIN_ROWS);
  /** keyHash of the row's id */
  private hash = new Int32Array(MIN_ROWS);
  /** rows in use or freed since the last compact (the next new row is `rows`) */
  private rows = 0;
  /** the rows by their id's hash */
  private readonly index = new HashSlots(
    (row) => this.hash[row]!,
    (row, id) => this.matches(row, id),
  );
  /** source partition names by index, and back */
  readonly sources: string[] = [];
  private readonly sourceIndex = new Map<string, number>();

  constructor(
    /** a row's mode (from its packed column) */
    private readonly modeOf: (row: number) => CombineMode,
    /** what is held apart for a row (the owner's rare fields): moved and dropped with it */
    private readonly onMove: (from: number, to: number) => void,
    private readonly onFree: (row: number) => void,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** The index of source partition `name` in `sources`. */
  sourceId(name: string): number {
    let i = this.sourceIndex.get(name);
    if (i === undefined) {
      i = this.sources.length;
      if (i === 0x7fff && this.src instanceof Int16Array) this.src = Int32Array.from(this.src);
      this.sources.push(name);
      this.sourceIndex.set(name, i);
    }
    return i;
  }

  /** A new row, in no index yet: `put` it next (a row made and never put would be iterated as a series). Its columns zero, no source. */
  newRow(labels: Labels): number {
    if (this.rows === this.value.length) this.grow();
    const row = this.rows++;
    this.labels[row] = labels;
    this.value[row] = 0;
    this.src[row] = -1;
    this.offset.clear(row, 0);
    this.heard.clear(row, 0);
    this.seen.clear(row, 0);
    if (this.aux !== null) this.aux[row] = 0;
    this.packed[row] = 0;
    this.hash[row] = 0;
    return row;
  }

  offsetAt(row: number): number {
    return this.offset.at(row, this.src[row]! + 1);
  }

  setOffset(row: number, v: number): void {
    this.offset.set(row, this.src[row]! + 1, v);
  }

  heardAt(row: number): number {
    return this.heard.at(row, this.src[row]! + 1);
  }

  setHeard(row: number, v: number): void {
    this.heard.set(row, this.src[row]! + 1, v);
  }

  seenAt(row: number): number {
    return this.seen.at(row, 0);
  }

  setSeen(row: number, v: number): void {
    this.seen.set(row, 0, v);
  }

  /**
   * Row `row`'s first source is `src` (an index in `sources`, -1 for none). Its offset and time belong to the source:
   * the caller sets them next (Combined.add, remove); until then they read as the new source's base.
   */
  setSrc(row: number, src: number): void {
    this.src[row] = src;
    this.offset.clear(row, src + 1);
    this.heard.clear(row, src + 1);
  }

  /** Row `row`'s `aux` (0 until a row set one). */
  auxAt(row: number): number {
    return this.aux === null ? 0 : this.aux[row]!;
  }

  setAux(row: number, v: number): void {
    if (this.aux === null) {
      if (v === 0) return;
      this.aux = new Float64Array(this.value.length);
    }
    this.aux[row] = v;
  }

  /** The row of `id`, or -1. */
  find(id: string): number {
    return this.index.find(id, keyHash(id));
  }

  /**
   * Row `row` (made by `newRow`) is the series of `id` now. Where another row held the id, `row`'s columns move into
   * that row (the series keeps its place in the order) and the returned row is that one; else `row`.
   */
  put(id: string, row: number): number {
    const h = keyHash(id);
    const held = this.index.find(id, h);
    if (held >= 0) {
      if (held === row) return row;
      this.move(row, held);
      return held;
    }
    this.hash[row] = h;
    this.index.add(id, h, row);
    return row;
  }

  /** Drops the series of `id` (its row becomes a hole until `compact`); true if there was one. */
  delete(id: string): boolean {
    const row = this.find(id);
    if (row < 0) return false;
    this.index.remove(id, row);
    this.free(row);
    return true;
  }

  /** One past the last row that may be in use: walk rows 0 ≤ r < `end` where `inUse(r)` (deleting as you go is safe). */
  get end(): number {
    return this.rows;
  }

  inUse(row: number): boolean {
    return this.labels[row] !== undefined;
  }

  /** Closes the holes freed rows left, keeping the rows' order; rows move (call it where no row number is held). */
  compact(): void {
    const holes = this.rows - this.index.size;
    if (holes === 0 || (holes < 1024 && holes * 4 < this.rows)) return;
    const moved = new Int32Array(this.rows).fill(-1);
    let to = 0;
    for (let r = 0; r < this.rows; r++) {
      if (this.labels[r] === undefined) continue;
      if (r !== to) this.copy(r, to);
      moved[r] = to++;
    }
    this.labels.length = to;
    this.rows = to;
    // Shrunk when more than half of it is spare, to a quarter more than its rows (room for the series that come back).
    if (this.value.length > 2 * Math.max(MIN_ROWS, to)) this.resize(Math.max(MIN_ROWS, Math.ceil(to * GROWTH)));
    this.index.renumber(moved);
  }

  private matches(row: number, id: string): boolean {
    const labels = this.labels[row];
    return labels !== undefined && matchesId(labels, this.modeOf(row), id);
  }

  private free(row: number): void {
    this.labels[row] = undefined;
    this.onFree(row);
    if (row === this.rows - 1) {
      this.rows--;
      this.labels.length = this.rows;
    }
  }

  /** `from`'s columns into `to` (in the index already, same id), `from` freed. */
  private move(from: number, to: number): void {
    const hash = this.hash[to]!;
    this.copy(from, to);
    this.hash[to] = hash;
    this.free(from);
  }

  private copy(from: number, to: number): void {
    this.labels[to] = this.labels[from];
    this.value[to] = this.value[from]!;
    this.offset.copy(from, to);
    this.heard.copy(from, to);
    this.seen.copy(from, to);
    if (this.aux !== null) this.aux[to] = this.aux[from]!;
    this.packed[to] = this.packed[from]!;
    this.src[to] = this.src[from]!;
    this.hash[to] = this.hash[from]!;
    this.onMove(from, to);
  }

  private intColumn(groupOf: (row: number) => number): IntColumn {
    return new IntColumn(
      MIN_ROWS,
      groupOf,
      () => this.rows,
      (row) => this.inUse(row),
    );
  }

  private grow(): void {
    this.resize(Math.ceil(this.value.length * GROWTH));
  }

  private resize(cap: number): void {
    this.value = resized(this.value, cap);
    this.offset.resize(cap);
    this.heard.resize(cap);
    this.seen.resize(cap);
    if (this.aux !== null) this.aux = resized(this.aux, cap);
    this.packed = resized(this.packed, cap);
    this.src = resized(this.src, cap);
    this.hash = resized(this.hash, cap);
  }
}

/** A column of the same type at `cap` rows, its first rows copied. */
function resized<A extends Float64Array | Int32Array | Int16Array>(a: A, cap: number): A {
  const b = new (a.constructor as new (length: number) => A)(cap);
  b.set((a.length <= cap ? a : a.subarray(0, cap)) as never);
  return b;
}
