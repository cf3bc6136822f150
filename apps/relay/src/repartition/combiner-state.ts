/**
 * The checkpoint form of an owner's combined series (`SeriesCombiner.toState` / `fromState`): JSON-serialisable,
 * numbers ±Inf/NaN as strings. Version 2 keeps the series and their source entries as columns (one array per field,
 * source names in a table, times relative to one epoch), so that writing 100k series allocates a few arrays, not
 * several per series (version 1: 61 MB of arrays and 189 ms of JSON.stringify per 100k series, every flush — an
 * owner is checkpointed every flush). Version 3 writes a series' labels, not its key: label names by shape, values in
 * a string table, in runs (as the aggregate's state does) — an owner keeps no key string per series (key-index.ts),
 * and building 100k keys for each checkpoint tripled its cost. Versions 1 and 2 are still read.
 */
import type { CombineMode } from '../model.js';
import { histogramFromState, histogramToState, type HistogramState } from '../aggregate/native-histogram.js';
import { keptLabels, keyOfLabels } from '../aggregate/labels.js';
import { Columns, RunReader, RunWriter, StringTable, type Runs } from '../aggregate/state-columns.js';
import type { Labels } from '@prom-relay/codec';
import { Combined } from './combined.js';
import { NO_END, NO_RESTART, type FinalSample } from './combined-entry.js';
import type { OwnerFamilies } from './metadata.js';

export const COMBINE_STATE_FORMAT = 'prom-relay.combine';

type EncodedNumber = number | 'NaN' | '+Inf' | '-Inf';
type EntryState = [source: string, value: EncodedNumber, count: number, at: number, offset: number, retired: 0 | 1, seen: number, hist?: HistogramState];

/** Version 1: one array per series and one per source entry (still restored). */
export interface CombineStateV1 {
  format: typeof COMBINE_STATE_FORMAT;
  version: 1;
  series: Array<[key: string, mode: CombineMode, base: EncodedNumber, seen: number, entries: EntryState[], start?: number, baseHist?: HistogramState]>;
  families?: ReturnType<OwnerFamilies['toState']>;
  exemplarsSent?: Array<[id: string, sent: number]>;
}

/** What `toState` writes: columns per series, and per source entry in series order (`entries[i]` of series i). */
export interface CombineState {
  format: typeof COMBINE_STATE_FORMAT;
  version: 3;
  /** ms since the Unix epoch that `seen`, `start` and `heard` count from */
  epoch: number;
  /** source partition names, once each */
  sources: string[];
  /** label names and values, each once; `shapes` and `series.labels` index into it */
  strings: string[];
  /** the label names of series, in their order (indices into `strings`) */
  shapes: number[][];
  series: {
    /** index into `shapes`, in runs */
    shape: Runs;
    /** the value of each series' j-th label (indices into `strings`), in runs, for the series whose shape has one */
    labels: Runs[];
    /** index into COMBINE_MODES */
    mode: number[];
    base: EncodedNumber[];
    seen: number[];
    start: number[];
    /** how many source entries the series has (they follow in `entries`, in order) */
    entries: number[];
    /** native series with a base histogram: series index and histogram, flat */
    baseHist: Array<number | HistogramState>;
    /** series with a final sample to write (`Combined.final`): series index, own (1) or a replaced series' (0), value,
     *  start, histogram or null, flat; absent when none (and in states written before finals) */
    final?: Array<number | EncodedNumber | HistogramState | null>;
    /** series whose value changed since it was last written (`Combined.unwritten`), by index; absent when none (and in
     *  states written before it: read as none) */
    unwritten?: number[];
  };
  entries: {
    /** index into `sources` */
    src: number[];
    value: EncodedNumber[];
    count: number[];
    /** last: when the source applied the value (ms since the Unix epoch, as the source said it) */
    at: number[];
    offset: number[];
    retired: Array<0 | 1>;
    heard: number[];
    /** entries with a histogram: entry index and histogram, flat */
    hist: Array<number | HistogramState>;
    /** entries that applied a restart: entry index and the restart's name (its end's source offset), flat; absent in
     *  states written before restarts (none applied then) */
    restarted?: number[];
    /** entries that applied a named end: entry index and the end's name (`SourceEntry.endedAt`), flat; absent in states
     *  written before end names (none known then) */
    ended?: number[];
  };
  families?: ReturnType<OwnerFamilies['toState']>;
  /** series id and timestamp of the last exemplar sent, for series that sent one */
  exemplarsSent?: Array<[id: string, sent: number]>;
  /** per source partition, what the owner heard of it (SeriesCombiner.hear): name, last, before and when a publish at or
   *  above `last` was last heard (ms since the Unix epoch; absent in states written before it: heard at the restore);
   *  absent in states written before it (nothing heard: every source's next word is taken as before) */
  heard?: Array<[source: string, last: number, before: number, at?: number]>;
}

/** Version 2 (still restored): as version 3, with each series' key in place of its labels. */
export interface CombineStateV2 extends Omit<CombineState, 'version' | 'strings' | 'shapes' | 'series'> {
  version: 2;
  series: Omit<CombineState['series'], 'shape' | 'labels'> & { key: string[] };
}

const COMBINE_MODES: readonly CombineMode[] = ['total', 'last', 'sum', 'min', 'max', 'avg', 'native'];

function enc(v: number): EncodedNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function dec(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
}

/** The series of a combiner as state columns; `epoch` is the combiner's (its times are relative to it). */
export function writeCombineState(all: { readonly size: number; values(): Iterable<Combined> }, epoch: number): Pick<CombineState, 'epoch' | 'sources' | 'strings' | 'shapes' | 'series' | 'entries'> {
  // Columns sized once (no copies while they grow): the series, then their entries.
  let m = 0;
  for (const c of all.values()) m += c.size;
  const n = all.size;
  // Packed columns (slices of one array of zeros): JSON.stringify writes them about twice as fast as `new Array(n)`'s holey ones.
  const columns = new Columns(Math.max(n, m));
  const column = <T>(length: number) => columns.of<T>(length);
  const series: CombineState['series'] = { shape: [], labels: [], mode: column(n), base: column(n), seen: column(n), start: column(n), entries: column(n), baseHist: [] };
  const labels = new LabelColumns();
  const entries: CombineState['entries'] = { src: column(m), value: column(m), count: column(m), at: column(m), offset: column(m), retired: column(m), heard: column(m), hist: [] };
  const restarted: number[] = [];
  const ended: number[] = [];
  const unwritten: number[] = [];
  const finals: Array<number | EncodedNumber | HistogramState | null> = [];
  const sourceIndex = new Map<string, number>();
  let i = 0;
  let j = 0;
  for (const c of all.values()) {
    labels.add(c.labels);
    series.mode[i] = COMBINE_MODES.indexOf(c.mode);
    series.base[i] = enc(c.base);
    series.seen[i] = c.seen;
    series.start[i] = c.start;
    series.entries[i] = c.size;
    if (c.baseHist !== null) series.baseHist.push(i, histogramToState(c.baseHist));
    if (c.unwritten) unwritten.push(i);
    const final = c.final;
    if (final !== null) finals.push(i, final.own ? 1 : 0, enc(final.value), final.start, final.hist === undefined ? null : histogramToState(final.hist));
    for (let k = 0, size = c.size; k < size; k++, j++) {
      const e = c.entry(k);
      let src = sourceIndex.get(e.src);
      if (src === undefined) sourceIndex.set(e.src, (src = sourceIndex.size));
      if (e.hist !== undefined) entries.hist.push(j, histogramToState(e.hist));
      if (e.restartedAt !== NO_RESTART) restarted.push(j, e.restartedAt);
      if (e.endedAt !== NO_END) ended.push(j, e.endedAt);
      entries.src[j] = src;
      entries.value[j] = enc(e.value);
      entries.count[j] = e.count;
      entries.at[j] = e.at;
      entries.offset[j] = e.offset;
      entries.retired[j] = e.retired ? 1 : 0;
      entries.heard[j] = e.heard;
    }
    i++;
  }
  if (restarted.length > 0) entries.restarted = restarted;
  if (ended.length > 0) entries.ended = ended;
  if (finals.length > 0) series.final = finals;
  if (unwritten.length > 0) series.unwritten = unwritten;
  series.shape = labels.shape.done();
  series.labels = labels.values.map((w) => w.done());
  return { epoch, sources: [...sourceIndex.keys()], strings: labels.strings.list, shapes: labels.shapes, series, entries };
}

/** Label sets as columns: each set's names as a shape, its j-th value in column j; strings once each; runs. */
class LabelColumns {
  readonly strings = new StringTable();
  readonly shapes: number[][] = [];
  readonly shape = new RunWriter();
  readonly values: RunWriter[] = [];
  private readonly shapeIndex = new Map<string, number>();
  private readonly names: string[] = [];
  private lastNames: string[] | null = null;
  private lastShape = 0;

  add(labels: Labels): void {
    const names = this.names;
    let k = 0;
    for (const name in labels) {
      names[k] = name;
      (this.values[k] ??= new RunWriter()).add(this.strings.at(k + 1, labels[name]!));
      k++;
    }
    // Series of one metric follow each other: their shape is the last one, compared name by name.
    const last = this.lastNames;
    let same = last !== null && k === last.length;
    for (let j = 0; same && j < k; j++) same = names[j] === last![j];
    if (!same) {
      const now = names.slice(0, k);
      const id = JSON.stringify(now);
      let found = this.shapeIndex.get(id);
      if (found === undefined) {
        found = this.shapes.length;
        this.shapeIndex.set(id, found);
        this.shapes.push(now.map((name) => this.strings.of(name)));
      }
      this.lastNames = now;
      this.lastShape = found;
    }
    this.shape.add(this.lastShape);
  }
}

/** What a combiner is rebuilt from: its series, created through `create` (which shares labels where it can). */
export interface CombineRestore {
  /** `labels`: the series' labels when the state has them (version 3), else read from `key` */
  create(id: string, key: string, mode: CombineMode, seen: number, start: number, labels?: Labels): Combined;
  /** one string per source partition name */
  source(name: string): string;
  /** the combiner's epoch (times in the state are rebased onto it) */
  epoch: number;
}

function fail(why: string): never {
  throw new Error(`not a combiner state (format ${COMBINE_STATE_FORMAT} version 1, 2 or 3): ${why}`);
}

/** The key of series `id` (ids of modes other than total/last/native carry the mode in front). */
function keyOf(id: string, mode: CombineMode): string {
  return mode === 'total' || mode === 'last' || mode === 'native' ? id : id.slice(mode.length + 1);
}

/** The id, key and (version 3) labels of series i of a state. */
type SeriesId = (i: number, mode: CombineMode) => { id: string; key: string; labels?: Labels };

/** Version 2: each series' id as written. */
function idsOf(s: CombineStateV2, n: number): SeriesId {
  if (!Array.isArray(s.series.key) || s.series.key.length !== n) fail('series.key is not a column of every series');
  return (i, mode) => ({ id: s.series.key[i]!, key: keyOf(s.series.key[i]!, mode) });
}

/** Version 3: each series' labels from the shapes and label columns, its id built from them. */
function labelsOf(s: CombineState, n: number): { at: SeriesId; end(): void } {
  if (!Array.isArray(s.strings) || !Array.isArray(s.shapes) || !Array.isArray(s.series.labels)) fail('labels missing');
  const text = (i: number): string => {
    const v = s.strings[i];
    if (typeof v !== 'string') fail(`string ${i} is missing`);
    return v;
  };
  const shapes = s.shapes.map((ids) => {
    if (!Array.isArray(ids)) fail('a shape is not an array');
    const names = ids.map(text);
    return { names, json: `{${names.map((name) => `${JSON.stringify(name)}:""`).join(',')}}` };
  });
  const shapeOf = new RunReader(s.series.shape, 'series.shape');
  const values = s.series.labels.map((runs, j) => new RunReader(runs, `series.labels[${j}]`));
  const valueAt = (_name: string, j: number) => text(values[j]!.next());
  return {
    at: (i, mode) => {
      const shape = shapes[shapeOf.next()];
      if (shape === undefined) fail(`series ${i} has no shape`);
      if (shape.names.length > values.length) fail(`series ${i} has more labels than series.labels`);
      const labels = keptLabels(shape.json, shape.names, valueAt);
      const key = keyOfLabels(labels);
      return { id: mode === 'total' || mode === 'last' || mode === 'native' ? key : `${mode}\u0000${key}`, key, labels };
    },
    end: () => {
      if (n > 0) shapeOf.end();
      for (const v of values) v.end();
    },
  };
}

/** The series of a version 1, 2 or 3 state, in order. */
export function readCombineState(state: unknown, into: CombineRestore): Combined[] {
  const s = state as CombineState | CombineStateV2 | CombineStateV1;
  if (s === null || typeof s !== 'object' || s.format !== COMBINE_STATE_FORMAT) fail('unknown format');
  if (s.version === 1) return readV1(s, into);
  if (s.version !== 2 && s.version !== 3) fail(`version ${String((s as { version?: unknown }).version)}`);
  const { series: cols, entries: ent } = s;
  if (!Array.isArray(s.sources) || !Array.isArray(cols?.mode) || !Array.isArray(ent?.src)) fail('columns missing');
  const n = cols.mode.length;
  const v3 = s.version === 3 ? labelsOf(s, n) : null;
  const idAt = v3 !== null ? v3.at : idsOf(s as CombineStateV2, n);
  const shift = s.epoch - into.epoch;
  const sources = s.sources.map((name) => into.source(name));
  const baseHists = new Map<number, HistogramState>();
  for (let i = 0; i < cols.baseHist.length; i += 2) baseHists.set(cols.baseHist[i] as number, cols.baseHist[i + 1] as HistogramState);
  const hists = new Map<number, HistogramState>();
  for (let i = 0; i < ent.hist.length; i += 2) hists.set(ent.hist[i] as number, ent.hist[i + 1] as HistogramState);
  const restarts = new Map<number, number>();
  if (ent.restarted !== undefined) {
    if (!Array.isArray(ent.restarted)) fail('entries.restarted is not an array');
    for (let i = 0; i < ent.restarted.length; i += 2) restarts.set(ent.restarted[i]!, ent.restarted[i + 1]!);
  }
  const ends = pairs(ent.ended, 'entries.ended');
  const unwritten = new Set<number>();
  if (cols.unwritten !== undefined) {
    if (!Array.isArray(cols.unwritten)) fail('series.unwritten is not an array');
    for (const i of cols.unwritten) unwritten.add(i);
  }
  const finals = new Map<number, FinalSample>();
  if (cols.final !== undefined) {
    if (!Array.isArray(cols.final) || cols.final.length % 5 !== 0) fail('series.final is not an array of fives');
    for (let i = 0; i < cols.final.length; i += 5) {
      const hist = cols.final[i + 4];
      const start = cols.final[i + 3] as number;
      finals.set(cols.final[i] as number, { own: cols.final[i + 1] === 1, value: dec(cols.final[i + 2] as EncodedNumber), start: start + shift, hist: hist === null ? undefined : histogramFromState(hist) });
    }
  }
  const out: Combined[] = new Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const mode = COMBINE_MODES[cols.mode[i]!];
    if (mode === undefined) fail(`series ${i} has mode ${cols.mode[i]}`);
    const { id, key, labels } = idAt(i, mode);
    const c = into.create(id, key, mode, cols.seen[i]! + shift, cols.start[i]! + shift, labels);
    c.base = dec(cols.base[i]!);
    const baseHist = baseHists.get(i);
    if (baseHist !== undefined) c.baseHist = histogramFromState(baseHist);
    const final = finals.get(i);
    if (final !== undefined) c.final = final.own ? { ...final, start: c.start } : final;
    if (unwritten.has(i)) c.unwritten = true;
    for (let end = j + cols.entries[i]!; j < end; j++) {
      const src = sources[ent.src[j]!];
      if (src === undefined) fail(`entry ${j} names source ${ent.src[j]}`);
      const e = c.add(src, ent.offset[j]!, ent.heard[j]! + shift);
      e.value = dec(ent.value[j]!);
      e.count = ent.count[j]!;
      e.at = ent.at[j]!;
      e.retired = ent.retired[j] === 1;
      const hist = hists.get(j);
      if (hist !== undefined) e.hist = histogramFromState(hist);
      const restart = restarts.get(j);
      if (restart !== undefined) e.restartedAt = restart;
      const end = ends.get(j);
      if (end !== undefined) e.endedAt = end;
    }
    out[i] = c;
  }
  v3?.end();
  return out;
}

/** A flat column of (index, number) pairs as a map; absent: empty. */
function pairs(column: number[] | undefined, name: string): Map<number, number> {
  const out = new Map<number, number>();
  if (column === undefined) return out;
  if (!Array.isArray(column) || column.length % 2 !== 0) fail(`${name} is not an array of pairs`);
  for (let i = 0; i < column.length; i += 2) out.set(column[i]!, column[i + 1]!);
  return out;
}

function readV1(s: CombineStateV1, into: CombineRestore): Combined[] {
  if (!Array.isArray(s.series)) fail('series missing');
  const epoch = into.epoch;
  return s.series.map(([id, mode, base, seen, entries, start, baseHist]) => {
    const c = into.create(id, keyOf(id, mode), mode, seen - epoch, (start ?? seen) - epoch);
    c.base = dec(base);
    if (baseHist !== undefined) c.baseHist = histogramFromState(baseHist);
    for (const [source, value, count, at, offset, retired, eseen, hist] of entries) {
      const e = c.add(into.source(source), offset, eseen - epoch);
      e.value = dec(value);
      e.count = count;
      e.at = at;
      e.retired = retired === 1;
      if (hist !== undefined) e.hist = histogramFromState(hist);
    }
    return c;
  });
}
