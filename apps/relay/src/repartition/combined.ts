// One output series as its owner holds it: what each source partition last said about it (`SourceEntry`) and how
// those combine into the one value the flush writes (by mode: a total never goes below what ended sources reached,
// `last` the newest word, `min`/`max`/`sum`/`avg` across sources, native histograms merged).
import type { Labels } from '@prom-relay/codec';
import { addInto, emptyHistogram, type NativeHistogram } from '../aggregate/native-histogram.js';
import type { CombineMode } from '../model.js';

/** What one source partition last said about one output series. */
export interface SourceEntry {
  /** the source partition, `<topic>/<partition>` (one shared string per source) */
  readonly src: string;
  value: number;
  /** avg: count behind `value` (a sum) */
  count: number;
  /** last: when the value was applied */
  at: number;
  /** the source's offset when it said so: an older word (a replay, a late writer) never overrides a newer one */
  offset: number;
  /** total: the source's series ended (stale); its value lives on in `base` until a newer offset restarts it */
  retired: boolean;
  /** when this owner last heard from the source about this series (ms since the combiner's epoch: a small integer) */
  seen: number;
  /** native: the source's running histogram (`value` is its count) */
  hist?: NativeHistogram;
}

const NO_SOURCES: SourceEntry[] = [];

export class Combined {
  /** total: what retired or reset sources had reached: the output never goes below it */
  base = 0;
  /** native: the same as a histogram */
  baseHist: NativeHistogram | null = null;
  /** One entry per source partition: an array, not a Map (one or a few sources per series; 100k series each). */
  sources: SourceEntry[] = NO_SOURCES;
  constructor(
    readonly key: string,
    readonly labels: Labels,
    readonly mode: CombineMode,
    /** ms since the combiner's epoch */
    public seen: number,
    /** when this output series began (ms since the combiner's epoch): the start timestamp of a counter */
    readonly start: number,
  ) {}

  find(src: string): SourceEntry | undefined {
    const list = this.sources;
    for (let i = 0; i < list.length; i++) if (list[i]!.src === src) return list[i];
    return undefined;
  }

  add(e: SourceEntry): void {
    // A literal of one: an empty array's first push would reserve room for 17.
    if (this.sources.length === 0) this.sources = [e];
    else this.sources.push(e);
  }

  remove(e: SourceEntry): void {
    const i = this.sources.indexOf(e);
    if (i >= 0) this.sources.splice(i, 1);
  }

  live(): number {
    let n = 0;
    for (const e of this.sources) if (!e.retired) n++;
    return n;
  }

  /** native: a retired or reset source's histogram stays in the output */
  keep(e: SourceEntry): void {
    if (e.hist === undefined) return;
    addInto((this.baseHist ??= emptyHistogram()), e.hist);
    e.hist = undefined;
  }

  /** native: the base and every live source's histogram merged (at the coarsest schema among them). */
  histogram(): NativeHistogram {
    const h = emptyHistogram();
    if (this.baseHist !== null) addInto(h, this.baseHist);
    for (const e of this.sources) if (e.hist !== undefined) addInto(h, e.hist);
    return h;
  }

  value(): number {
    let v: number;
    switch (this.mode) {
      case 'native':
        return this.histogram().count;
      case 'total': {
        v = this.base;
        for (const e of this.sources) v += e.value;
        return v;
      }
      case 'last': {
        let best: SourceEntry | undefined;
        for (const e of this.sources) if (best === undefined || e.at > best.at) best = e;
        return best?.value ?? NaN;
      }
      case 'min': {
        v = Infinity;
        for (const e of this.sources) if (e.value < v || Number.isNaN(e.value)) v = e.value;
        return v;
      }
      case 'max': {
        v = -Infinity;
        for (const e of this.sources) if (e.value > v || Number.isNaN(e.value)) v = e.value;
        return v;
      }
      case 'sum': {
        v = 0;
        for (const e of this.sources) v += e.value;
        return v;
      }
      case 'avg': {
        let sum = 0;
        let count = 0;
        for (const e of this.sources) {
          sum += e.value;
          count += e.count;
        }
        return sum / count;
      }
    }
  }
}
