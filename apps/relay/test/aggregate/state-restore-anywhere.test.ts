// A checkpoint restores to exactly the future of the aggregate it came from, wherever the flush took it: randomized
// workloads (counters with resets, replays and late forwarded pushes, delta points, gauges under every rule output,
// classic histograms, summaries with per-producer quantiles, native histograms cumulative and delta, untyped series that
// arrive typed, type conflicts, group and whole-job deletes, process runs, label and series limits, expiry of series,
// contributions and producers; pushes that replace a group's gauges, PUT and POST, and samples that do not), restored
// again and again in processes started at other times, compared step by step with an aggregate that never restarted. As in the relay, a state is taken right after a collect (flush/flusher.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { IngestBatch, InputPoint } from '../../src/model.js';
import { batch, counter, gauge, histogram, options, point, rng } from './fixtures.js';
import { nativePoint as scenarioNativePoint } from './state-scenario.js';

const T0 = 1_764_000_000_000;
const plain = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v instanceof Map ? [...v] : v));

const CONFIGS = [
  options({
    seriesTtlMs: 8_000,
    producerTtlMs: 30_000,
    limits: { maxSeries: 70, maxSeriesPerJob: 50, maxLabelsPerSeries: 30, maxLabelValueLength: 200 },
    rules: [
      { match: 'g', by: ['kind'], outputs: ['sum', 'min', 'max', 'avg', 'count', 'last', 'histogram'], keepInput: true },
      { match: 'c_total', without: ['kind'], outputs: ['total', 'sum'], keepInput: true },
      { match: 'lat', outputs: ['histogram'] },
      { match: 'rpc_seconds', outputs: ['histogram', 'total'], keepInput: true },
    ],
  }),
  options({ seriesTtlMs: 5_000, counterTtlMs: 15_000, producerTtlMs: 12_000, limits: { maxSeries: 40, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }),
  options({
    seriesTtlMs: 6_000,
    producerTtlMs: 20_000,
    rules: [{ match: 'u', inputType: 'counter' }, { match: 'v', by: ['instance'], outputs: ['last', 'max'] }, { match: 'g', without: ['instance'], outputs: ['avg', 'last'] }],
  }),
  options({
    seriesTtlMs: 7_000,
    counterTtlMs: 30_000,
    producerTtlMs: 25_000,
    producerLabels: ['instance', 'pod'],
    limits: { maxSeries: 60, maxSeriesPerJob: 35, maxLabelsPerSeries: 5, maxLabelValueLength: 10 },
    rules: [
      { match: 'temperature', inputType: 'counter', outputs: ['total', 'count', 'histogram'], keepInput: true, buckets: [10, 20] },
      { match: '{__name__=~"many_.*"}', without: ['pod'], outputs: ['total'] },
      { match: 'lat', by: ['pod'], outputs: ['histogram', 'sum'] },
    ],
  }),
];

/** A native histogram point at schema 0 or 1 (by `count`), so producers at both schemas merge. */
function nativePoint(name: string, count: number, float: boolean, labels: Record<string, string> = {}): InputPoint {
  return scenarioNativePoint(name, count, float, count % 2, labels);
}

/** Runs one workload; returns what went wrong (undefined: the restored aggregate said exactly what the original did). */
function run(seed: number): { problem?: string; restores: number; samples: number } {
  const rand = rng(seed * 7919);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const opts = CONFIGS[seed % CONFIGS.length]!;
  vi.setSystemTime(T0);
  const original = new PartitionAggregate(opts);
  let restored = new PartitionAggregate(opts);
  let now = T0 + seed;
  let restores = 0;
  let samples = 0;
  const producers = Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, job: i < 4 ? 'job1' : 'job2', instance: `h${i % 3}`, seq: 0, c: 0, n: 0, h: [0, 0, 0], run: 0 }));
  let collected = true;
  for (let step = 0; step < 300; step++) {
    const r = rand();
    if (r < 0.7) {
      now += Math.floor(rand() * 1500);
      const p = pick(producers);
      const roll = rand();
      const grouping: Record<string, string> = rand() < 0.9 ? { instance: p.instance } : {};
      const base = { producer: rand() < 0.1 ? `${p.id}/run=${p.run}` : p.id, job: p.job, grouping };
      let spec: Parameters<typeof batch>[0];
      let forwarded = false;
      let partial = false;
      if (roll < 0.03) spec = { ...base, seq: p.seq++, op: 'delete' };
      else if (roll < 0.05) spec = { producer: p.id, job: p.job, grouping: {}, op: 'delete' };
      else if (roll < 0.1 && p.seq > 0) {
        // a replay, or a push forwarded late from another partition
        const points = [
          counter('c_total', p.c + Math.floor(rand() * 5), { kind: 'a' }),
          gauge('g', rand() * 10, { kind: 'b' }),
          ...histogram('lat', { '1': p.h[0]! + 1, '+Inf': p.h[0]! + p.h[1]! + 3 }, 1, p.h[0]! + p.h[1]! + 3),
          nativePoint('rpc_seconds', p.n + 2, p.id === 'p5'),
          point('rpc', 'summary', rand(), { quantile: '0.5' }),
        ];
        spec = { ...base, seq: p.seq - 1 - Math.floor(rand() * 2), points, ...(rand() < 0.2 ? { temporality: 'delta' as const } : {}) };
        forwarded = rand() < 0.6;
      } else if (roll < 0.13) {
        // the producer's next run starts from zero
        p.run++;
        p.seq = 0;
        p.c = 0;
        p.n = 0;
        p.h = [0, 0, 0];
        continue;
      } else {
        p.c = rand() < 0.1 ? Math.floor(rand() * 3) : p.c + Math.floor(rand() * 10);
        p.n = rand() < 0.05 ? 1 : p.n + 1 + Math.floor(rand() * 5);
        p.h = p.h.map((v) => v + Math.floor(rand() * 3));
        const g = rand() < 0.03 ? Infinity : rand() < 0.03 ? -Infinity : rand() < 0.05 ? NaN : Math.round(rand() * 10_000) / 100;
        const all: InputPoint[][] = [
          [counter('c_total', p.c, { kind: pick(['a', 'b']) })],
          [gauge('g', g, { kind: pick(['a', 'b']) })],
          [gauge('temperature', Math.round(rand() * 300) / 10)],
          histogram('lat', { '1': p.h[0]!, '5': p.h[0]! + p.h[1]!, '+Inf': p.h[0]! + p.h[1]! + p.h[2]! }, p.h[0]! * 0.5, p.h[0]! + p.h[1]! + p.h[2]!),
          [point('rpc', 'summary', rand(), { quantile: '0.9' }), point('rpc_count', 'summary', p.c, {}, 'rpc'), point('rpc_sum', 'summary', p.c * 2, {}, 'rpc')],
          [nativePoint('rpc_seconds', p.n, p.id === 'p5')],
          [point('u', rand() < 0.7 ? 'untyped' : pick(['counter', 'gauge'] as const), p.c)],
          [point('v', 'untyped', rand() * 5, { instance: p.instance })],
          [counter(`many_${Math.floor(rand() * 30)}_total`, p.c)],
          [counter('neg_total', rand() < 0.1 ? -1 : p.c)],
          [gauge('c_total', 3)],
          [counter('many_7_total', p.c, { pod: pick(['x', 'y']) })],
          [{ ...counter('d_total', 1 + Math.floor(rand() * 3)), temporality: 'delta' as const }],
          [gauge('wide', 1, { a: '1', b: '2', c: '3', d: '4', e: '5' })],
          [gauge('long', 1, { v: 'x'.repeat(Math.floor(rand() * 15)) })],
          [{ ...nativePoint('nh_delta', 1 + Math.floor(rand() * 4), false, { pod: pick(['x', 'y']) }), temporality: 'delta' as const }],
        ];
        spec = { ...base, ...(rand() < 0.9 ? { seq: p.seq++ } : {}), points: all.filter(() => rand() < 0.4).flat(), ...(rand() < 0.08 ? { temporality: 'delta' as const } : {}) };
        // a POST (replaces the gauges of the families it carries) or samples (Remote Write, JSON lines: replace none)
        const kind = rand();
        if (kind < 0.15) spec.op = 'add';
        else if (kind < 0.3) partial = true;
      }
      const b: IngestBatch = { ...batch(spec), ...(forwarded ? { forwarded: true } : {}), ...(partial ? { partial: true as const } : {}) };
      const said = plain(original.apply(structuredClone(b), now));
      const heard = plain(restored.apply(structuredClone(b), now));
      if (said !== heard) return { problem: `step ${step}: apply ${said} vs ${heard}`, restores, samples };
      collected = false;
    } else if (r < 0.85) {
      now += Math.floor(rand() * 3000);
      const onlyFed = rand() < 0.3;
      const said = original.collect(now, { onlyFed });
      const heard = restored.collect(now, { onlyFed });
      samples += said.length;
      if (onlyFed) {
        // Right after a restore every output counts as fed (a superset, same values): what the original says, it says.
        const restoredSays = new Map<string, number>();
        for (const s of heard) restoredSays.set(plain(s), (restoredSays.get(plain(s)) ?? 0) + 1);
        for (const s of said) {
          const left = restoredSays.get(plain(s)) ?? 0;
          if (left === 0) return { problem: `step ${step}: onlyFed collect: the restored aggregate did not say ${plain(s)}`, restores, samples };
          restoredSays.set(plain(s), left - 1);
        }
      } else if (plain(said) !== plain(heard)) return { problem: `step ${step}: collect ${plain(said)} vs ${plain(heard)}`, restores, samples };
      collected = true;
    } else if (r < 0.97) {
      if (!collected) continue;
      const state = JSON.parse(JSON.stringify(restored.toState())) as unknown;
      // restored by a process started at another time (its times count from another epoch)
      vi.setSystemTime(now + Math.floor(rand() * 1e7) - 5e6);
      restored = PartitionAggregate.fromState(state, opts);
      restores++;
    } else {
      now += 20_000 + Math.floor(rand() * 20_000);
    }
  }
  for (const dt of [1_000, 9_000, 16_000, 40_000, 100_000]) {
    if (plain(original.collect(now + dt)) !== plain(restored.collect(now + dt))) return { problem: `the collect ${dt} ms after the end differs`, restores, samples };
  }
  return { restores, samples };
}

describe('aggregate checkpoint: restored anywhere a flush takes it, the same future', () => {
  afterEach(() => vi.useRealTimers());

  it('randomized workloads over every rule output, type, temporality, delete and expiry, restored again and again', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let restores = 0;
    let samples = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const r = run(seed);
      expect(r.problem, `seed ${seed}`).toBeUndefined();
      restores += r.restores;
      samples += r.samples;
    }
    // the workloads did restore and did say things
    expect(restores).toBeGreaterThan(50);
    expect(samples).toBeGreaterThan(10_000);
  }, 60_000);
});
