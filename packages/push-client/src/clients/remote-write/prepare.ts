import { dropEmptyLabelValues, isValidLabelName, isValidMetricName, sortLabels, validateLabels } from '@prom-relay/codec';
import type { Histogram, Labels, Sample, TimeSeries } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { LabelPair, RejectedSeries, WriteSeries } from './types.js';

export interface PreparedWrite {
  /**
   * Series ready for the wire: labels sorted and valid, samples in strictly increasing timestamp order.
   * The caller's objects when they already qualify (no copy), fresh ones otherwise; never mutated.
   */
  series: TimeSeries[];
  /** FNV-1a hash of each series' labels (same index): picks the shard, so a series always uses one queue. */
  hashes: number[];
  rejected: RejectedSeries[];
  samplesRejected: number;
  samplesDropped: number;
}

/**
 * Applies the sender rules before anything is sent: repeated label names refused, empty values dropped,
 * `__name__` and valid names required, labels sorted, samples sorted by timestamp (a repeated timestamp
 * keeps its last sample), and entries of the same series in one call merged so none goes out of order.
 */
export function prepareWrite(input: readonly WriteSeries[]): PreparedWrite {
  const out: PreparedWrite = { series: [], hashes: [], rejected: [], samplesRejected: 0, samplesDropped: 0 };
  const index = new SeriesIndex(input.length);
  for (const entry of input) {
    let labels: Labels;
    let hash: number;
    try {
      labels = toLabels(entry?.labels);
      hash = checkAndHash(labels);
      if (hash < 0) {
        // Slow path: empty values to drop, unsorted names, or something invalid the codec will name.
        if (hasEmptyValue(labels)) labels = dropEmptyLabelValues(labels);
        validateLabels(labels);
        labels = sortLabels(labels);
        hash = checkAndHash(labels);
        if (hash < 0) throw new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', `label set ${JSON.stringify(labels)} is not valid`);
      }
      if (entry.samples) checkTimestamps(entry.samples, 'sample');
      if (entry.histograms) checkTimestamps(entry.histograms, 'histogram');
    } catch (err) {
      const series = asTimeSeries(entry);
      out.rejected.push({ series, error: toSeriesError(err) });
      out.samplesRejected += series.samples.length + (series.histograms?.length ?? 0);
      continue;
    }
    const at = index.find(hash, labels, out.series);
    if (at >= 0) {
      // The same series twice in one call: merge, so the samples are ordered together below.
      const earlier = out.series[at]!;
      const merged: TimeSeries = { ...earlier, samples: [...earlier.samples, ...(entry.samples ?? [])] };
      if (entry.histograms?.length) merged.histograms = [...(earlier.histograms ?? []), ...entry.histograms];
      if (entry.exemplars?.length) merged.exemplars = [...(earlier.exemplars ?? []), ...entry.exemplars];
      out.series[at] = merged;
      continue;
    }
    index.add(hash, out.series.length);
    out.hashes.push(hash);
    if (labels === entry.labels && entry.samples) {
      out.series.push(entry as TimeSeries);
    } else {
      const series: TimeSeries = { ...(entry as TimeSeries), labels, samples: (entry.samples ?? []) as Sample[] };
      out.series.push(series);
    }
  }
  for (let i = 0; i < out.series.length; i++) {
    let series = out.series[i]!;
    if (outOfOrder(series.samples)) {
      series = { ...series, samples: [...series.samples] };
      out.samplesDropped += orderByTimestamp(series.samples);
    }
    if (series.histograms && outOfOrder(series.histograms)) {
      series = { ...series, histograms: [...series.histograms] };
      out.samplesDropped += orderByTimestamp(series.histograms!);
    }
    out.series[i] = series;
  }
  return out;
}

/** Float samples plus histogram samples of a series. */
export function sampleCount(series: TimeSeries): number {
  return series.samples.length + (series.histograms?.length ?? 0);
}

/** Open-addressing table from label hash to position in the output: typed arrays, no per-entry objects. */
class SeriesIndex {
  private readonly hashes: Uint32Array;
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(expected: number) {
    let size = 16;
    while (size < expected * 2) size <<= 1;
    this.hashes = new Uint32Array(size);
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Position of the series with these labels, or -1. */
  find(hash: number, labels: Labels, series: readonly TimeSeries[]): number {
    for (let i = hash & this.mask; this.slots[i] !== 0; i = (i + 1) & this.mask) {
      if (this.hashes[i] === hash) {
        const position = this.slots[i]! - 1;
        if (sameLabels(series[position]!.labels, labels)) return position;
      }
    }
    return -1;
  }

  add(hash: number, position: number): void {
    let i = hash & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.hashes[i] = hash;
    this.slots[i] = position + 1;
  }
}

const validNames = new Set<string>();
const validMetricNames = new Set<string>();
const NAME_CACHE_LIMIT = 50_000;

/**
 * One pass over a label set: FNV-1a hash of the values in name order, or -1 when the set needs the slow path
 * (names out of order, an empty or non-string value, a name not known valid, no __name__).
 */
function checkAndHash(labels: Labels): number {
  let hash = 0x811c9dc5;
  let previous = '';
  let hasName = false;
  for (const name in labels) {
    const value = labels[name];
    if (typeof value !== 'string' || value === '' || name < previous) return -1;
    previous = name;
    if (name === '__name__') {
      hasName = true;
      if (!validMetricNames.has(value)) {
        if (!isValidMetricName(value)) return -1;
        if (validMetricNames.size < NAME_CACHE_LIMIT) validMetricNames.add(value);
      }
    } else if (!validNames.has(name)) {
      if (!isValidLabelName(name)) return -1;
      if (validNames.size < NAME_CACHE_LIMIT) validNames.add(name);
    }
    // Values only (names add little spread and cost as much): equal hashes are compared label by label anyway.
    // Two UTF-16 units per multiply: half the dependent multiplications of a char-by-char FNV-1a.
    for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0xfffe, 0x01000193);
  }
  return hasName ? hash >>> 0 : -1;
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

function outOfOrder(items: ReadonlyArray<{ timestamp: number }>): boolean {
  for (let i = 1; i < items.length; i++) if (items[i]!.timestamp <= items[i - 1]!.timestamp) return true;
  return false;
}

/** Sorts by timestamp in place and keeps the last of equal timestamps; answers how many were dropped. */
function orderByTimestamp(items: Array<Sample | Histogram>): number {
  let ordered = true;
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.timestamp <= items[i - 1]!.timestamp) {
      ordered = false;
      break;
    }
  }
  if (ordered) return 0;
  const sorted = items.map((item, index) => ({ item, index })).sort((a, b) => a.item.timestamp - b.item.timestamp || a.index - b.index);
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    const next = sorted[i + 1];
    if (next && next.item.timestamp === sorted[i]!.item.timestamp) continue;
    items[kept++] = sorted[i]!.item;
  }
  const dropped = items.length - kept;
  items.length = kept;
  return dropped;
}

function checkTimestamps(items: ReadonlyArray<{ timestamp: number }>, what: string): void {
  for (const item of items) {
    if (!Number.isSafeInteger(item.timestamp)) {
      throw new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', `${what} timestamp ${String(item.timestamp)} is not an integer of milliseconds`);
    }
  }
}

function toLabels(labels: WriteSeries['labels'] | undefined): Labels {
  if (labels === null || typeof labels !== 'object') {
    throw new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', 'series has no labels');
  }
  if (!Array.isArray(labels)) return labels as Labels;
  const out: Labels = {};
  for (const pair of labels as readonly LabelPair[]) {
    if (Object.prototype.hasOwnProperty.call(out, pair.name)) {
      throw new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', `repeated label name ${JSON.stringify(pair.name)}`);
    }
    Object.defineProperty(out, pair.name, { value: pair.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function hasEmptyValue(labels: Labels): boolean {
  for (const name in labels) if (labels[name] === '') return true;
  return false;
}




function toSeriesError(err: unknown): PushClientError {
  if (err instanceof PushClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', message, { cause: err });
}

/** A plain TimeSeries copy of whatever the caller passed, for reporting it back. */
export function asTimeSeries(entry: WriteSeries | undefined): TimeSeries {
  const raw = entry?.labels;
  let labels: Labels = {};
  if (Array.isArray(raw)) {
    for (const pair of raw as readonly LabelPair[]) labels[pair.name] = pair.value;
  } else if (raw && typeof raw === 'object') {
    labels = { ...(raw as Labels) };
  }
  const series: TimeSeries = { labels, samples: [...(entry?.samples ?? [])] };
  if (entry?.histograms?.length) series.histograms = [...entry.histograms];
  if (entry?.exemplars?.length) series.exemplars = [...entry.exemplars];
  return series;
}
