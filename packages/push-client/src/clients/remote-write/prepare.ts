import { dropEmptyLabelValues, sortLabels, validateLabels } from '@prom-relay/codec';
import type { Histogram, Labels, Sample, TimeSeries } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { LabelPair, RejectedSeries, WriteSeries } from './types.js';

/** A series ready for the wire: labels sorted and valid, samples in strictly increasing timestamp order. */
export interface PreparedSeries extends TimeSeries {
  /** FNV-1a hash of the label set: picks the shard, so one series always goes through one queue. */
  hash: number;
  /** Float samples plus histogram samples. */
  sampleCount: number;
}

export interface PreparedWrite {
  series: PreparedSeries[];
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
  const out: PreparedWrite = { series: [], rejected: [], samplesRejected: 0, samplesDropped: 0 };
  let byKey: Map<string, PreparedSeries> | undefined;
  let keys: string[] | undefined;
  for (const entry of input) {
    let labels: Labels;
    try {
      labels = toLabels(entry?.labels);
      if (hasEmptyValue(labels)) labels = dropEmptyLabelValues(labels);
      validateLabels(labels);
      if (!isSorted(labels)) labels = sortLabels(labels);
      checkTimestamps(entry.samples ?? [], 'sample');
      checkTimestamps(entry.histograms ?? [], 'histogram');
    } catch (err) {
      const series = asTimeSeries(entry);
      out.rejected.push({ series, error: toSeriesError(err) });
      out.samplesRejected += (series.samples.length + (series.histograms?.length ?? 0));
      continue;
    }
    const key = seriesKey(labels);
    const prepared: PreparedSeries = {
      labels,
      samples: entry.samples ? [...entry.samples] : [],
      hash: fnv1a(key),
      sampleCount: 0,
    };
    if (entry.exemplars?.length) prepared.exemplars = [...entry.exemplars];
    if (entry.histograms?.length) prepared.histograms = [...entry.histograms];
    // Most calls carry each series once; the map is built only when a second entry could repeat one.
    if (out.series.length === 0 && !byKey) {
      keys = [key];
      out.series.push(prepared);
      continue;
    }
    if (!byKey) {
      byKey = new Map();
      for (let i = 0; i < out.series.length; i++) byKey.set(keys![i]!, out.series[i]!);
    }
    const earlier = byKey.get(key);
    if (earlier) {
      earlier.samples.push(...prepared.samples);
      if (prepared.histograms) (earlier.histograms ??= []).push(...prepared.histograms);
      if (prepared.exemplars) (earlier.exemplars ??= []).push(...prepared.exemplars);
    } else {
      byKey.set(key, prepared);
      out.series.push(prepared);
    }
  }
  for (const series of out.series) {
    out.samplesDropped += orderByTimestamp(series.samples);
    if (series.histograms) out.samplesDropped += orderByTimestamp(series.histograms);
    series.sampleCount = series.samples.length + (series.histograms?.length ?? 0);
  }
  return out;
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

function isSorted(labels: Labels): boolean {
  let previous = '';
  for (const name of Object.keys(labels)) {
    if (name < previous) return false;
    previous = name;
  }
  return true;
}

function seriesKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}\xff${labels[name]}\xfe`;
  return key;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function toSeriesError(err: unknown): PushClientError {
  if (err instanceof PushClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PushClientError('PROM_RELAY_PUSH_INVALID_SERIES', message, { cause: err });
}

function asTimeSeries(entry: WriteSeries | undefined): TimeSeries {
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
