/**
 * How a write's series become requests: each series goes to its shard (by label hash) and into request-sized
 * batches, a series larger than a request as chunks in time order; a batch too large or refused is bisected;
 * chunks of one series are joined back together when they are handed back undelivered.
 */
import type { TimeSeries } from '@prom-relay/codec';
import { sampleCount } from './prepare.js';

/** A shard's batch being filled: its series and their samples. */
export interface OpenBatch {
  series: TimeSeries[];
  samples: number;
}

/** Groups series into request-sized batches per shard; a series larger than a request is cut into chunks in time order. */
export function batchByShard(series: readonly TimeSeries[], hashes: readonly number[], concurrency: number, max: number): TimeSeries[][][] {
  const perShard: TimeSeries[][][] = Array.from({ length: concurrency }, () => []);
  const open: Array<OpenBatch | undefined> = new Array(concurrency);
  const place = (shard: number, s: TimeSeries, n: number): void => {
    let batch = open[shard];
    if (!batch || batch.samples + n > max) {
      batch = { series: [], samples: 0 };
      open[shard] = batch;
      perShard[shard]!.push(batch.series);
    }
    batch.series.push(s);
    batch.samples += n;
  };
  placeByShard(series, hashes, concurrency, max, place);
  return perShard;
}

/** Each series with something to deliver goes to its shard; one larger than a request as chunks in time order. */
export function placeByShard(
  series: readonly TimeSeries[],
  hashes: readonly number[],
  concurrency: number,
  max: number,
  place: (shard: number, s: TimeSeries, samples: number) => void,
): void {
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    const shard = hashes[i]! % concurrency;
    const n = sampleCount(s);
    if (n === 0 && !s.exemplars?.length) continue; // nothing to deliver
    if (n <= max) place(shard, s, n);
    else for (const chunk of chunkSeries(s, max)) place(shard, chunk, sampleCount(chunk));
  }
}

export function countExemplars(batch: readonly TimeSeries[]): number {
  let n = 0;
  for (const s of batch) n += s.exemplars?.length ?? 0;
  return n;
}

export function countSamples(batch: readonly TimeSeries[]): number {
  let n = 0;
  for (const s of batch) n += sampleCount(s);
  return n;
}

export function canSplit(batch: readonly TimeSeries[]): boolean {
  return batch.length > 1 || (batch.length === 1 && sampleCount(batch[0]!) > 1);
}

/** Halves by series, or a lone series by its samples (older half first). */
export function splitBatch(batch: TimeSeries[]): [TimeSeries[], TimeSeries[]] {
  if (batch.length > 1) {
    const mid = batch.length >> 1;
    return [batch.slice(0, mid), batch.slice(mid)];
  }
  const s = batch[0]!;
  const [a, b] = chunkSeries(s, Math.ceil(sampleCount(s) / 2));
  return [[a!], [b!]];
}

/** Cuts a series into chunks of at most `max` samples (float samples first, then histograms), in time order. */
function chunkSeries(s: TimeSeries, max: number): TimeSeries[] {
  const chunks: TimeSeries[] = [];
  const histograms = s.histograms ?? [];
  const total = s.samples.length + histograms.length;
  for (let start = 0; start < total; start += max) {
    const end = Math.min(total, start + max);
    const samples = s.samples.slice(Math.min(start, s.samples.length), Math.min(end, s.samples.length));
    const hStart = Math.max(0, start - s.samples.length);
    const hEnd = Math.max(0, end - s.samples.length);
    const chunk: TimeSeries = { labels: s.labels, samples };
    if (hEnd > hStart) chunk.histograms = histograms.slice(hStart, hEnd);
    if (start === 0 && s.exemplars) chunk.exemplars = s.exemplars;
    chunks.push(chunk);
  }
  return chunks;
}

/** Joins chunks of one series back together (they come in order) and strips client fields. */
export function mergeChunks(series: readonly TimeSeries[]): TimeSeries[] {
  const out: TimeSeries[] = [];
  const byLabels = new Map<object, TimeSeries>();
  for (const s of series) {
    const earlier = byLabels.get(s.labels);
    if (earlier) {
      earlier.samples.push(...s.samples);
      if (s.histograms) (earlier.histograms ??= []).push(...s.histograms);
      continue;
    }
    const copy = plain(s);
    byLabels.set(s.labels, copy);
    out.push(copy);
  }
  return out;
}

function plain(s: TimeSeries): TimeSeries {
  const out: TimeSeries = { labels: s.labels, samples: [...s.samples] };
  if (s.histograms) out.histograms = [...s.histograms];
  if (s.exemplars) out.exemplars = [...s.exemplars];
  return out;
}
