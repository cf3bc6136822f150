// Native histograms in the aggregate: counter semantics per producer (increases, resets), merged across producers at
// the coarsest schema and the widest zero bucket, integer and float, through a checkpoint. The oracle buckets the raw
// observations directly at the output's schema: it shares no code with the relay's reduction and merge.
import type { Histogram } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { fromWire, toWire, type NativeHistogram } from '../../src/aggregate/native-histogram.js';
import type { InputPoint, OutputSample } from '../../src/model.js';
import { batch, bucketOf, options, rng } from './fixtures.js';

/** What a client library exposes after observing `values`: a cumulative histogram, integer or float on the wire. */
function observe(values: number[], schema: number, zeroThreshold: number, float = false): Histogram {
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  let zero = 0;
  let sum = 0;
  for (const v of values) {
    sum += v;
    if (Math.abs(v) <= zeroThreshold) zero++;
    else {
      const side = v > 0 ? pos : neg;
      const i = bucketOf(v, schema);
      side.set(i, (side.get(i) ?? 0) + 1);
    }
  }
  const h: NativeHistogram = { schema, zeroThreshold, zeroCount: zero, count: values.length, sum, positive: pos, negative: neg, float };
  return { ...toWire(h, 0), resetHint: 'unknown' };
}

/** The oracle: every observation bucketed at the merged output's schema and zero threshold. */
function expected(values: number[], schema: number, zeroThreshold: number): { count: number; zeroCount: number; positive: Record<number, number>; negative: Record<number, number> } {
  const positive: Record<number, number> = {};
  const negative: Record<number, number> = {};
  let zeroCount = 0;
  for (const v of values) {
    if (Math.abs(v) <= zeroThreshold) zeroCount++;
    else {
      const side = v > 0 ? positive : negative;
      const i = bucketOf(v, schema);
      side[i] = (side[i] ?? 0) + 1;
    }
  }
  return { count: values.length, zeroCount, positive, negative };
}

function asRecord(m: Map<number, number>): Record<number, number> {
  return Object.fromEntries([...m].filter(([, c]) => c !== 0).sort((a, b) => a[0] - b[0]));
}

function nhPoint(name: string, h: Histogram): InputPoint {
  return { family: name, type: 'histogram', labels: { __name__: name }, value: 0, histogram: h };
}

function only(samples: OutputSample[], name = 'latency_seconds'): OutputSample {
  const found = samples.filter((s) => s.labels['__name__'] === name);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function observations(random: () => number, n: number): number[] {
  // Spread over decades, both signs, and some exact zeros.
  return Array.from({ length: n }, () => {
    const r = random();
    if (r < 0.05) return 0;
    const magnitude = Math.pow(10, random() * 6 - 4);
    return r < 0.2 ? -magnitude : magnitude;
  });
}

describe('native histograms: aggregated like counters per producer, merged across producers', () => {
  it('two producers at schemas 3 and 1, one of them restarting, merge exactly at schema 1', () => {
    const random = rng(20261201);
    const agg = new PartitionAggregate(options());
    const all: number[] = [];
    let a: number[] = [];
    let b: number[] = [];
    for (let round = 0; round < 6; round++) {
      const newA = observations(random, 40);
      const newB = observations(random, 25);
      if (round === 3) a = []; // producer a restarts: its cumulative histogram starts again from nothing
      a.push(...newA);
      b.push(...newB);
      all.push(...newA, ...newB);
      agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [nhPoint('latency_seconds', observe(a, 3, 1e-3))] }), 1000 + round);
      agg.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [nhPoint('latency_seconds', observe(b, 1, 1e-3))] }), 1000 + round);
    }
    const out = only(agg.collect(2000));
    expect(out.combine).toBe('native');
    const h = out.histogram!;
    expect(h.schema).toBe(1);
    const want = expected(all, 1, h.zeroThreshold);
    expect({ count: h.count, zeroCount: h.zeroCount, positive: asRecord(h.positive), negative: asRecord(h.negative) }).toEqual(want);
    expect(h.sum).toBeCloseTo(all.reduce((s, v) => s + v, 0), 6);
    expect(h.float).toBe(false);
    expect(out.value).toBe(all.length);
  });

  it('a producer lowering its resolution (Go client bucket limit) is not a reset: nothing is counted twice', () => {
    const random = rng(7);
    const agg = new PartitionAggregate(options());
    const values = observations(random, 50);
    agg.apply(batch({ producer: 'a', points: [nhPoint('latency_seconds', observe(values, 4, 1e-3))] }), 1000);
    values.push(...observations(random, 30));
    agg.apply(batch({ producer: 'a', points: [nhPoint('latency_seconds', observe(values, 2, 1e-3))] }), 2000);
    const h = only(agg.collect(3000)).histogram!;
    expect(h.schema).toBe(2);
    expect({ count: h.count, zeroCount: h.zeroCount, positive: asRecord(h.positive), negative: asRecord(h.negative) }).toEqual(expected(values, 2, 1e-3));
  });

  it('a wider zero bucket wins the merge; buckets inside it (or straddling it) fold into the zero count', () => {
    const random = rng(11);
    const agg = new PartitionAggregate(options());
    const a = observations(random, 60);
    const b = observations(random, 60);
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [nhPoint('latency_seconds', observe(a, 2, 1e-4))] }), 1000);
    agg.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [nhPoint('latency_seconds', observe(b, 2, 0.05))] }), 1000);
    const h = only(agg.collect(2000)).histogram!;
    expect(h.zeroThreshold).toBeGreaterThanOrEqual(0.05);
    expect({ count: h.count, zeroCount: h.zeroCount, positive: asRecord(h.positive), negative: asRecord(h.negative) }).toEqual(expected([...a, ...b], 2, h.zeroThreshold));
  });

  it('a float histogram makes the merged output float; integer inputs stay integer', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [nhPoint('latency_seconds', observe([0.5, 2, 3], 0, 0.001))] }), 1000);
    expect(only(agg.collect(1500)).histogram!.float).toBe(false);
    agg.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [nhPoint('latency_seconds', observe([4, 5], 0, 0.001, true))] }), 2000);
    const h = only(agg.collect(2500)).histogram!;
    expect(h.float).toBe(true);
    expect(h.count).toBe(5);
    expect(asRecord(h.positive)).toEqual({ [-1]: 1, 1: 1, 2: 2, 3: 1 });
  });

  it('a replayed push adds nothing; the running total survives a checkpoint and goes on from the baselines', () => {
    const agg = new PartitionAggregate(options());
    const push = (seq: number, values: number[]) => batch({ producer: 'a', seq, points: [nhPoint('latency_seconds', observe(values, 1, 0.001))] });
    agg.apply(push(1, [1, 2, 3]), 1000);
    expect(agg.apply(push(1, [1, 2, 3]), 1100).duplicate).toBe(true);
    const restored = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
    restored.apply(push(2, [1, 2, 3, 10]), 2000);
    const h = only(restored.collect(2500)).histogram!;
    expect(h.count).toBe(4);
    expect(asRecord(h.positive)).toEqual(expected([1, 2, 3, 10], 1, 0.001).positive);
  });

  it('a by: rule with a histogram output merges native histograms of several jobs', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'latency_seconds', by: ['route'], outputs: ['histogram'] }] }));
    const p = (job: string, values: number[]) =>
      batch({ producer: job, job, points: [{ ...nhPoint('latency_seconds', observe(values, 0, 0.001)), labels: { __name__: 'latency_seconds', route: '/a' } }] });
    agg.apply(p('j1', [1, 2]), 1000);
    agg.apply(p('j2', [4]), 1000);
    const out = agg.collect(2000);
    expect(out.map((s) => s.labels)).toEqual([{ __name__: 'latency_seconds:by_route_histogram', route: '/a' }]);
    const h = out[0]!.histogram!;
    expect(h.count).toBe(3);
    expect(asRecord(h.positive)).toEqual({ 0: 1, 1: 1, 2: 1 });
  });

  it('a plain sample under a native histogram input series name is rejected, not mixed in', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'a', points: [nhPoint('latency_seconds', observe([1], 0, 0.001))] }), 1000);
    const r = agg.apply(batch({ producer: 'a', points: [{ family: 'latency_seconds', type: 'histogram', labels: { __name__: 'latency_seconds' }, value: 3 }] }), 2000);
    expect(r.rejected).toBe(1);
    expect(only(agg.collect(2500)).histogram!.count).toBe(1);
  });
});

describe('native histogram wire form', () => {
  it('fromWire(toWire(h)) is h, with small gaps as empty buckets and large gaps as new spans', () => {
    const h: NativeHistogram = {
      schema: 3,
      zeroThreshold: 1e-128,
      zeroCount: 2,
      count: 20,
      sum: 12.5,
      positive: new Map([
        [-3, 1],
        [-1, 4],
        [0, 2],
        [9, 5],
      ]),
      negative: new Map([[2, 6]]),
      float: false,
    };
    const wire = toWire(h, 1234);
    expect(wire.positiveSpans).toEqual([
      { offset: -3, length: 4 },
      { offset: 8, length: 1 },
    ]);
    expect(wire.positiveDeltas).toEqual([1, -1, 4, -2, 3]);
    expect(fromWire(wire)).toEqual(h);
    expect(fromWire(toWire({ ...h, float: true }, 1))).toEqual({ ...h, float: true });
  });
});

describe('native histograms pushed as deltas', () => {
  it('each push adds all it carries, and keeps no baseline holding the input series beyond its lifetime', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 1000, counterTtlMs: 1000, producerTtlMs: 500 }));
    for (const at of [1000, 1100]) agg.apply({ ...batch({ producer: 'a', points: [nhPoint('latency_seconds', observe([1, 2], 0, 0.001))] }), temporality: 'delta' }, at);
    expect(only(agg.collect(1200)).histogram!.count).toBe(4);
    // Not fed for the series TTL: the output ends, and with no baseline left the input series goes too.
    const later = agg.collect(5000);
    expect(later.map((s) => s.stale)).toEqual([true]);
    expect(agg.toState().inputs.key).toEqual([]);
  });
});
