import type { Labels } from '@prom-relay/codec';
import type { AggregateOptions } from '../../src/aggregate/index.js';
import type { IngestBatch, InputMetricType, InputPoint, OutputSample, PushOp, Temporality } from '../../src/model.js';

export function options(over: Partial<AggregateOptions> = {}): AggregateOptions {
  return {
    rules: [],
    seriesTtlMs: 60_000,
    producerTtlMs: 600_000,
    limits: { maxSeries: 10_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 },
    ...over,
  };
}

export interface BatchSpec {
  producer: string;
  seq?: number;
  job?: string;
  grouping?: Labels;
  temporality?: Temporality;
  op?: PushOp;
  points?: InputPoint[];
}

/** A batch as decode builds it: job and grouping labels added to every point. */
export function batch(spec: BatchSpec): IngestBatch {
  const job = spec.job ?? 'job1';
  const grouping = spec.grouping ?? {};
  return {
    producerId: spec.producer,
    ...(spec.seq !== undefined ? { sequence: spec.seq } : {}),
    job,
    grouping,
    temporality: spec.temporality ?? 'cumulative',
    op: spec.op ?? 'push',
    points: (spec.points ?? []).map((p) => ({ ...p, labels: { ...p.labels, job, ...grouping } })),
  };
}

export function point(name: string, type: InputMetricType, value: number, labels: Labels = {}, family = name): InputPoint {
  return { family, type, labels: { __name__: name, ...labels }, value };
}

export const counter = (name: string, value: number, labels: Labels = {}) => point(name, 'counter', value, labels);
export const gauge = (name: string, value: number, labels: Labels = {}) => point(name, 'gauge', value, labels);

/** A classic histogram's points: cumulative bucket counts by upper bound, then _sum and _count. */
export function histogram(family: string, buckets: Record<string, number>, sum: number, count: number, labels: Labels = {}): InputPoint[] {
  return [
    ...Object.entries(buckets).map(([le, v]) => point(`${family}_bucket`, 'histogram', v, { ...labels, le }, family)),
    point(`${family}_sum`, 'histogram', sum, labels, family),
    point(`${family}_count`, 'histogram', count, labels, family),
  ];
}

export function seriesId(labels: Labels): string {
  const { __name__, ...rest } = labels;
  const inner = Object.keys(rest)
    .sort()
    .map((k) => `${k}="${rest[k]}"`)
    .join(',');
  return `${__name__}{${inner}}`;
}

/** Collected samples as `name{labels}` → value (stale ones as 'stale'), for readable assertions. */
export function byId(samples: OutputSample[]): Record<string, number | 'stale'> {
  const out: Record<string, number | 'stale'> = {};
  for (const s of samples) out[seriesId(s.labels)] = s.stale ? 'stale' : s.value;
  return out;
}

/** Deterministic PRNG (mulberry32) so property tests replay. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bucket of |v| at a native histogram `schema`, from the definition (the smallest i with |v| <= 2^(i·2^-schema)): an
 *  oracle that shares no code with the relay's reduction and merge. */
export function bucketOf(v: number, schema: number): number {
  const f = Math.pow(2, schema);
  let i = Math.ceil(Math.log2(Math.abs(v)) * f);
  // Correct log2 rounding at the edges.
  while (Math.pow(2, (i - 1) / f) >= Math.abs(v)) i--;
  while (Math.pow(2, i / f) < Math.abs(v)) i++;
  return i;
}
