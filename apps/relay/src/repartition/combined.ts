// One output series as its owner holds it: what each source partition last said about it (`SourceEntry`) and how
// those combine into the one value the flush writes (by mode: a total never goes below what ended sources reached,
// `last` the newest word, `min`/`max`/`sum`/`avg` across sources, native histograms merged).
import type { Labels } from '@prom-relay/codec';
import { keyOfLabels } from '../aggregate/labels.js';
import { addInto, emptyHistogram, type NativeHistogram } from '../aggregate/native-histogram.js';
import type { CombineMode } from '../model.js';
import {
  FRESH_EXEMPLAR,
  HAS_RARE,
  LOW,
  MODE_AVG,
  MODE_LAST,
  MODES,
  modeIndex,
  NO_END,
  NO_RESTART,
  Rare,
  RETIRED,
  sourceEntry,
  UNWRITTEN,
  type FinalSample,
  type SourceEntry,
} from './combined-entry.js';
import type { CombinedStore } from './combined-store.js';
import { CombinedTable, idOf } from './combined-table.js';

/**
 * One output series as its owner holds it: a cursor on its row of the owner's columns (CombinedStore), made where it
 * is used (a cursor is not kept: the row's number changes when the store compacts). Its first source is the row
 * itself (it *is* that entry: most series have exactly one source partition); further sources go to `more`. Entries
 * are read by position: `entry(i)` for i < `size`.
 *
 * What most series never use (a base, histograms, more sources) lives in a `Rare` object made on first use, held by
 * the store by row; a `last` series' time and an `avg` series' count share one column; the flags, the mode and
 * `start` another.
 */
export class Combined implements SourceEntry {
  /** the store's columns (one load fewer per field than through the store) */
  private readonly t: CombinedTable;
  constructor(
    private readonly store: CombinedStore,
    /** its row (moves when a series made anew takes the place of the one it replaces: CombinedStore.set) */
    public row: number,
  ) {
    this.t = store.table;
  }

  private get packed(): number {
    return this.t.packed[this.row]!;
  }

  private set packed(v: number) {
    this.t.packed[this.row] = v;
  }

  private get rare(): Rare | null {
    return (this.packed & HAS_RARE) !== 0 ? this.store.rare.get(this.row)! : null;
  }

  /** in the order of its key's labels (see `key`) */
  get labels(): Labels {
    return this.t.labels[this.row]!;
  }

  /** the first source ('' when the series has none) */
  get src(): string {
    const i = this.t.src[this.row]!;
    return i < 0 ? '' : this.t.sources[i]!;
  }

  set src(name: string) {
    this.t.setSrc(this.row, name === '' ? -1 : this.t.sourceId(name));
  }

  get value(): number {
    return this.t.value[this.row]!;
  }

  set value(v: number) {
    this.t.value[this.row] = v;
  }

  get offset(): number {
    return this.t.offsetAt(this.row);
  }

  set offset(v: number) {
    this.t.setOffset(this.row, v);
  }

  get heard(): number {
    return this.t.heardAt(this.row);
  }

  set heard(v: number) {
    this.t.setHeard(this.row, v);
  }

  /** ms since the combiner's epoch */
  get seen(): number {
    return this.t.seenAt(this.row);
  }

  set seen(v: number) {
    this.t.setSeen(this.row, v);
  }

  /** last: the first source's `at`; avg: its `count`; else 0 */
  private get aux(): number {
    return this.t.auxAt(this.row);
  }

  private set aux(v: number) {
    this.t.setAux(this.row, v);
  }

  /** when this output series began (ms since the combiner's epoch): the start timestamp of a counter */
  get start(): number {
    return Math.floor(this.packed / LOW);
  }

  /** sets or clears one of the low bits */
  private flag(mask: number, v: boolean): void {
    // (Bitwise on the low bits is exact: `packed` is an integer, two's complement below 2^32 when negative.)
    const packed = this.packed;
    if (((packed & mask) !== 0) !== v) this.packed = packed + (v ? mask : -mask);
  }

  get mode(): CombineMode {
    return MODES[modeIndex(this.packed)]!;
  }

  /** Its id in the owner (the partial's key, after `<mode>` and U+0000 for gauge modes but last), built: none is kept. */
  get key(): string {
    return idOf(this.mode, keyOfLabels(this.labels));
  }

  /**
   * total, native: the series' value changed since the owner last wrote it. A series whose every source ended writes
   * such a value before its staleness marker (and a restart, before the new run), however its end came: the value and
   * the end may reach the owner between two of its collects.
   */
  get unwritten(): boolean {
    return (this.packed & UNWRITTEN) !== 0;
  }

  set unwritten(v: boolean) {
    this.flag(UNWRITTEN, v);
  }

  /** The owner holds an exemplar of it not sent yet (owner-exemplars.ts): only such a series' id is built in a collect. */
  get freshExemplar(): boolean {
    return (this.packed & FRESH_EXEMPLAR) !== 0;
  }

  set freshExemplar(v: boolean) {
    this.flag(FRESH_EXEMPLAR, v);
  }

  /** total: what retired or reset sources had reached: the output never goes below it */
  get base(): number {
    return this.rare === null ? 0 : this.rare.base;
  }

  set base(v: number) {
    if (v !== 0 || this.rare !== null) this.rareOf().base = v;
  }

  /** native: the same as a histogram */
  get baseHist(): NativeHistogram | null {
    return this.rare === null ? null : this.rare.baseHist;
  }

  set baseHist(h: NativeHistogram | null) {
    if (h !== null || this.rare !== null) this.rareOf().baseHist = h;
  }

  get hist(): NativeHistogram | undefined {
    return this.rare === null ? undefined : this.rare.hist;
  }

  set hist(h: NativeHistogram | undefined) {
    if (h !== undefined || this.rare !== null) this.rareOf().hist = h;
  }

  /** the first source's (in the rare object: few series ever restart) */
  get restartedAt(): number {
    return this.rare === null ? NO_RESTART : this.rare.restartedAt;
  }

  set restartedAt(v: number) {
    if (v !== NO_RESTART || this.rare !== null) this.rareOf().restartedAt = v;
  }

  /** the first source's (in the rare object: few series ever end by a named end and go on) */
  get endedAt(): number {
    return this.rare === null ? NO_END : this.rare.endedAt;
  }

  set endedAt(v: number) {
    if (v !== NO_END || this.rare !== null) this.rareOf().endedAt = v;
  }

  get retired(): boolean {
    return (this.packed & RETIRED) !== 0;
  }

  set retired(v: boolean) {
    this.flag(RETIRED, v);
  }

  /** avg only (0 for other modes) */
  get count(): number {
    return modeIndex(this.packed) === MODE_AVG ? this.aux : 0;
  }

  set count(v: number) {
    if (modeIndex(this.packed) === MODE_AVG) this.aux = v;
  }

  /** last only (0 for other modes) */
  get at(): number {
    return modeIndex(this.packed) === MODE_LAST ? this.aux : 0;
  }

  set at(v: number) {
    if (modeIndex(this.packed) === MODE_LAST) this.aux = v;
  }

  /** The second and later sources (null while there are none). */
  private get more(): SourceEntry[] | null {
    return this.rare === null ? null : this.rare.more;
  }

  private set more(m: SourceEntry[] | null) {
    if (m !== null || this.rare !== null) this.rareOf().more = m;
  }

  private rareOf(): Rare {
    let rare = this.rare;
    if (rare === null) {
      rare = new Rare();
      this.store.rare.set(this.row, rare);
      this.packed += HAS_RARE;
    }
    return rare;
  }

  /** How many sources the series has. */
  get size(): number {
    if (this.t.src[this.row]! < 0) return 0;
    const more = this.rare === null ? null : this.rare.more;
    return more === null ? 1 : 1 + more.length;
  }

  /** The i-th source (0 ≤ i < size). */
  entry(i: number): SourceEntry {
    return i === 0 ? this : this.more![i - 1]!;
  }

  find(src: string): SourceEntry | undefined {
    if (this.src === src) return this;
    const more = this.more;
    if (more !== null) for (let i = 0; i < more.length; i++) if (more[i]!.src === src) return more[i];
    return undefined;
  }

  /** A new source, with its offset and time; its value is the caller's to set. */
  add(src: string, offset: number, heard: number): SourceEntry {
    if (this.src === '') {
      this.src = src;
      this.value = 0;
      this.count = 0;
      this.at = 0;
      this.offset = offset;
      this.retired = false;
      this.heard = heard;
      this.hist = undefined;
      this.restartedAt = NO_RESTART;
      this.endedAt = NO_END;
      return this;
    }
    const e = sourceEntry(src, offset, heard);
    if (this.more === null) this.more = [e];
    else this.more.push(e);
    return e;
  }

  remove(e: SourceEntry): void {
    if (e !== this) {
      const i = this.more?.indexOf(e) ?? -1;
      if (i >= 0) this.more!.splice(i, 1);
      if (this.more?.length === 0) this.more = null;
      return;
    }
    // The first source leaves: the next one (if any) takes its place.
    const next = this.more === null ? undefined : this.more.shift();
    if (this.more?.length === 0) this.more = null;
    this.src = next?.src ?? '';
    this.value = next?.value ?? 0;
    this.count = next?.count ?? 0;
    this.at = next?.at ?? 0;
    this.offset = next?.offset ?? 0;
    this.retired = next?.retired ?? false;
    this.heard = next?.heard ?? 0;
    this.hist = next?.hist;
    this.restartedAt = next?.restartedAt ?? NO_RESTART;
    this.endedAt = next?.endedAt ?? NO_END;
  }

  /** see FinalSample */
  get final(): FinalSample | null {
    return this.rare === null ? null : this.rare.final;
  }

  set final(f: FinalSample | null) {
    if (f !== null || this.rare !== null) this.rareOf().final = f;
  }

  /** What the series is now, as the final sample of a series that replaces it (see FinalSample). */
  snapshot(): FinalSample {
    if (this.mode === 'native') {
      const hist = this.histogram();
      return { own: false, value: hist.count, start: this.start, hist };
    }
    return { own: false, value: this.combinedValue(), start: this.start, hist: undefined };
  }

  /** Sources other than `e` whose series goes on. */
  othersLive(e: SourceEntry | undefined): number {
    return this.live() - (e !== undefined && !e.retired ? 1 : 0);
  }

  live(): number {
    if (this.rare === null) return this.t.src[this.row]! < 0 || (this.packed & RETIRED) !== 0 ? 0 : 1;
    let n = 0;
    for (let i = 0, size = this.size; i < size; i++) if (!this.entry(i).retired) n++;
    return n;
  }

  /** native: a retired or reset source's histogram stays in the output */
  keep(e: SourceEntry): void {
    if (e.hist === undefined) return;
    addInto((this.baseHist ??= emptyHistogram()), e.hist);
    e.hist = undefined;
  }

  /**
   * total, native: the final total of a run no entry holds (it began after its source's entry ended and ended before
   * the owner heard of it) stays in the output.
   */
  keepFinal(value: number, hist: NativeHistogram | undefined): void {
    if (this.mode !== 'native') this.base += value;
    else if (hist !== undefined) addInto((this.baseHist ??= emptyHistogram()), hist);
  }

  /** native: the base and every live source's histogram merged (at the coarsest schema among them). */
  histogram(): NativeHistogram {
    const h = emptyHistogram();
    if (this.baseHist !== null) addInto(h, this.baseHist);
    for (let i = 0, size = this.size; i < size; i++) {
      const e = this.entry(i);
      if (e.hist !== undefined) addInto(h, e.hist);
    }
    return h;
  }

  /** The one value the flush writes, by mode. */
  combinedValue(): number {
    let v: number;
    switch (this.mode) {
      case 'native':
        return this.histogram().count;
      case 'total': {
        if (this.rare === null) return this.t.src[this.row]! < 0 ? 0 : this.value;
        v = this.rare.base;
        for (let i = 0, size = this.size; i < size; i++) v += this.entry(i).value;
        return v;
      }
      case 'last': {
        let best: SourceEntry | undefined;
        for (let i = 0, size = this.size; i < size; i++) {
          const e = this.entry(i);
          if (best === undefined || e.at > best.at) best = e;
        }
        return best?.value ?? NaN;
      }
      case 'min': {
        v = Infinity;
        for (let i = 0, size = this.size; i < size; i++) {
          const x = this.entry(i).value;
          if (x < v || Number.isNaN(x)) v = x;
        }
        return v;
      }
      case 'max': {
        v = -Infinity;
        for (let i = 0, size = this.size; i < size; i++) {
          const x = this.entry(i).value;
          if (x > v || Number.isNaN(x)) v = x;
        }
        return v;
      }
      case 'sum': {
        v = 0;
        for (let i = 0, size = this.size; i < size; i++) v += this.entry(i).value;
        return v;
      }
      case 'avg': {
        let sum = 0;
        let count = 0;
        for (let i = 0, size = this.size; i < size; i++) {
          const e = this.entry(i);
          sum += e.value;
          count += e.count;
        }
        return sum / count;
      }
    }
  }
}
