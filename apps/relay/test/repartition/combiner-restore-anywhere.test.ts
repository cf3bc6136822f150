// An owner's checkpoint restores to exactly the future of the combiner it came from, wherever it is taken: randomized
// partials of every mode from four source partitions (replays and older offsets, resets, sources ending and coming back,
// a series' first source leaving while others stay, mode conflicts, native histograms), collects that end series and
// sources past the TTL, and restores in processes started at other times, compared with a combiner that never restarted.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import type { CombineMode } from '../../src/model.js';
import { SeriesCombiner, type PartialBatch, type PartialSeries } from '../../src/repartition/index.js';
import { rng } from '../aggregate/fixtures.js';

const T0 = 1_764_000_000_000;
const OPTS = { ttlMs: 1_000 };
const MODES: readonly CombineMode[] = ['total', 'last', 'sum', 'min', 'max', 'avg', 'native'];
const plain = (samples: ReturnType<SeriesCombiner['collect']>) =>
  JSON.stringify(samples, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v instanceof Map ? [...v].sort((a, b) => a[0] - b[0]) : v));

function histogramOf(rand: () => number): NativeHistogram {
  const positive = new Map<number, number>();
  for (let i = 0, n = Math.floor(rand() * 3); i < n; i++) {
    const bucket = Math.floor(rand() * 4);
    positive.set(bucket, (positive.get(bucket) ?? 0) + 1 + Math.floor(rand() * 5));
  }
  const zeroCount = Math.floor(rand() * 3);
  let count = zeroCount;
  for (const c of positive.values()) count += c;
  return { schema: Math.floor(rand() * 3), zeroThreshold: 0.001, zeroCount, count, sum: count * 1.5, positive, negative: new Map(), float: false };
}

/** One workload; what went wrong, or undefined. */
function run(seed: number, stats: { restores: number; multi: number; resets: number; outdated: number; finals: number }): string | undefined {
  const rand = rng(seed * 104_729);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  vi.setSystemTime(T0);
  const original = new SeriesCombiner(OPTS);
  let restored = new SeriesCombiner(OPTS);
  let now = T0 + seed;
  const offsets: Record<string, number> = { 'in/0': 1, 'in/1': 1, 'in/2': 1, 'in/3': 1 };
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => `__name__="${k}",job="x",`);
  const modeOf = new Map(keys.map((k) => [k, pick(MODES)]));
  for (let step = 0; step < 140; step++) {
    const r = rand();
    if (r < 0.65) {
      const source = pick(Object.keys(offsets));
      const y = rand();
      let offset = offsets[source]!;
      if (y < 0.1) offset = Math.max(0, offset - 1 - Math.floor(rand() * 3)); // a replay, a writer that lost the partition
      else if (y >= 0.2) offsets[source] = offset = offset + 1 + Math.floor(rand() * 2);
      const series: PartialSeries[] = [];
      for (let i = 0, n = 1 + Math.floor(rand() * 3); i < n; i++) {
        const key = pick(keys);
        let mode = modeOf.get(key)!;
        if (rand() < 0.05) mode = pick(MODES); // a conflict
        if (rand() < 0.03) modeOf.set(key, (mode = pick(MODES))); // the name is fed as another kind from now on
        const stale = rand() < 0.15;
        const v = pick([0, 1, 2, 5, 10, 3.5, 100, -1, NaN, Infinity]);
        const p: PartialSeries = { key, combine: mode, value: mode === 'total' && !(v >= 0 && v < 1e9) ? 7 : v, stale };
        if (mode === 'avg') {
          p.sum = p.value;
          p.count = 1 + Math.floor(rand() * 3);
        }
        if (mode === 'last') p.at = now - Math.floor(rand() * 50);
        if (mode === 'native' && !stale) {
          p.histogram = histogramOf(rand);
          p.value = p.histogram.count;
        }
        if (stale && (mode === 'total' || mode === 'native') && rand() < 0.5) {
          // a whole-job delete's end: the series' final total at its source
          const histogram = histogramOf(rand);
          p.final = mode === 'native' ? { value: histogram.count, histogram } : { value: 7 + Math.floor(rand() * 20) };
          stats.finals++;
        }
        series.push(p);
      }
      const batch: PartialBatch = { kind: 'partials', source, offset, series };
      const said = original.apply(structuredClone(batch), now);
      const heard = restored.apply(structuredClone(batch), now);
      if (JSON.stringify(said) !== JSON.stringify(heard)) return `step ${step}: apply ${JSON.stringify(said)} vs ${JSON.stringify(heard)}`;
      stats.resets += said.resets;
      stats.outdated += said.outdated;
    } else if (r < 0.85) {
      now += Math.floor(rand() * 700);
      const said = plain(original.collect(now));
      const heard = plain(restored.collect(now));
      if (said !== heard) return `step ${step}: collect\n${said}\n${heard}`;
      stats.multi += original.multiSourceCount;
    } else if (r < 0.95) {
      const state = JSON.parse(JSON.stringify(restored.toState())) as unknown;
      vi.setSystemTime(now + Math.floor(rand() * 100_000) - 50_000);
      restored = SeriesCombiner.fromState(state, OPTS);
      stats.restores++;
    } else now += Math.floor(rand() * 50);
  }
  return undefined;
}

describe('owner checkpoint: restored anywhere, the same future', () => {
  afterEach(() => vi.useRealTimers());

  it('randomized partials of every mode from several sources, restored again and again', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const stats = { restores: 0, multi: 0, resets: 0, outdated: 0, finals: 0 };
    for (let seed = 1; seed <= 150; seed++) expect(run(seed, stats), `seed ${seed}`).toBeUndefined();
    // the workloads reached what they are about: restores, series with several sources, resets, outdated partials
    expect(stats.restores).toBeGreaterThan(500);
    expect(stats.multi).toBeGreaterThan(1000);
    expect(stats.resets).toBeGreaterThan(100);
    expect(stats.outdated).toBeGreaterThan(100);
    expect(stats.finals).toBeGreaterThan(100);
  }, 60_000);
});
