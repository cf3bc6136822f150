// What the owner keeps of one output series apart from its combining logic (combined.ts): what each source partition
// last said about it (`SourceEntry`), what few series need besides (`Rare`), and the layout of a row's packed column
// (flags, mode, `start`).
import type { NativeHistogram } from '../aggregate/native-histogram.js';
import type { CombineMode } from '../model.js';

/** What one source partition last said about one output series. */
export interface SourceEntry {
  /** the source partition, `<topic>/<partition>` (one shared string per source) */
  src: string;
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
  heard: number;
  /** native: the source's running histogram (`value` is its count) */
  hist: NativeHistogram | undefined;
  /** total, native: the name (`PartialSeries.restart`) of the last restart applied, NO_RESTART when none */
  restartedAt: number;
  /**
   * total, native: the name (`PartialSeries.end`) of the last end applied, NO_END when none or unknown (an end without
   * a name, from a source older than names): an end named after both this and `restartedAt` is news.
   */
  endedAt: number;
}

export const NO_RESTART = -1;
export const NO_END = -1;

/**
 * total, native: a value of the series that the owner has not written and writes at its next collect before anything
 * else of it: the final total a source's end brought (the series itself: `start` is its own), or, when a restart made
 * the series anew, the final total of the series it replaced (with that one's `start` and histogram).
 */
export interface FinalSample {
  /** the series' own final total (its value, `start` and histogram are taken at the collect), not a replaced one's */
  own: boolean;
  value: number;
  /** ms since the combiner's epoch */
  start: number;
  hist: NativeHistogram | undefined;
}

/** A source entry of its own: the second and later sources of a series (few series have one). */
export function sourceEntry(src: string, offset: number, heard: number): SourceEntry {
  return { src, value: 0, count: 0, at: 0, offset, retired: false, heard, hist: undefined, restartedAt: NO_RESTART, endedAt: NO_END };
}

/** What few series need: a base (sources retired or reset), native histograms, second and later sources. */
export class Rare {
  base = 0;
  baseHist: NativeHistogram | null = null;
  /** native: the first source's running histogram */
  hist: NativeHistogram | undefined = undefined;
  more: SourceEntry[] | null = null;
  /** the first source's `restartedAt` */
  restartedAt = NO_RESTART;
  /** the first source's `endedAt` */
  endedAt = NO_END;
  final: FinalSample | null = null;
}

export const MODES: readonly CombineMode[] = ['total', 'last', 'sum', 'min', 'max', 'avg', 'native'];
export const MODE_LAST = MODES.indexOf('last');
export const MODE_AVG = MODES.indexOf('avg');
export const RETIRED = 1;
export const UNWRITTEN = 2;
export const FRESH_EXEMPLAR = 4;
/** the mode's index sits above the flag bits, HAS_RARE above it, `start` above them all (in units of LOW) */
export const MODE_SHIFT = 3;
export const HAS_RARE = 64;
export const LOW = 128;

export function modeIndex(packed: number): number {
  return (packed & (HAS_RARE - 1)) >> MODE_SHIFT;
}
