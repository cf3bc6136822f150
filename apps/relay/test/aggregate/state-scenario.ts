// A replayable workload for the aggregate's checkpoint formats: counters (resets, replays), gauges under every gauge
// rule output, classic histograms, summaries (their quantiles per producer), native histograms, non-finite values,
// deletes, two jobs, expiry. `cutState` is the state after the first part; `futureOf` what an aggregate says over the
// rest: the formats are checked on it (fixtures/aggregate-state-v2.json: a state and the future the release that wrote
// it computed).
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { toWire, type NativeHistogram } from '../../src/aggregate/native-histogram.js';
import type { IngestBatch, InputPoint } from '../../src/model.js';
import { batch, counter, gauge, histogram, options, point, rng } from './fixtures.js';

/** Times of the scenario are absolute, as the relay sees them (ms since the Unix epoch). */
export const T0 = 1_764_000_000_000;

export const SCENARIO_OPTIONS = options({
  seriesTtlMs: 20_000,
  producerTtlMs: 60_000,
  rules: [
    { match: 'g', by: ['kind'], outputs: ['sum', 'min', 'max', 'avg', 'count', 'last', 'histogram'], keepInput: true },
    { match: 'c_total', without: ['kind'], outputs: ['total', 'sum'], keepInput: true },
    { match: 'lat', outputs: ['histogram'] },
  ],
});

interface Step {
  batch: IngestBatch;
  now: number;
  collect: boolean;
}

function native(count: number, float: boolean): InputPoint {
  return nativePoint('rpc_seconds', count, float, 2);
}

/** A native histogram point of `count` observations (integer or float), at `schema`, as a sender writes it. */
export function nativePoint(name: string, count: number, float: boolean, schema: number, labels: Record<string, string> = {}): InputPoint {
  const h: NativeHistogram = {
    schema,
    zeroThreshold: 0.001,
    zeroCount: count % 3,
    count: count + (count % 3),
    sum: count * 1.5,
    positive: new Map([
      [1, Math.floor(count / 2)],
      [4, count - Math.floor(count / 2)],
    ]),
    negative: new Map(),
    float,
  };
  return { family: name, type: 'histogram', labels: { __name__: name, ...labels }, value: 0, histogram: { ...toWire(h, 0), resetHint: 'unknown' } };
}

/**
 * `replacing`: pushes are their producer's whole state in the group (op push, as text: a gauge series a push no longer
 * carries ends, group-ends.ts); false marks them partial (as Remote Write), the semantics of the release that wrote
 * the version 2 fixture, which ended no gauge on a push.
 */
export function scenarioSteps(replacing = true): Step[] {
  const rand = rng(20261201);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const producers = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, job: i < 4 ? 'job1' : 'job2', instance: `h${i % 3}`, seq: 0, c: 0, n: 0, h: [0, 0, 0] }));
  const out: Step[] = [];
  let now = T0;
  for (let m = 0; m < 205; m++) {
    now += Math.floor(rand() * 4000);
    const p = pick(producers);
    const roll = rand();
    const base = { producer: p.id, job: p.job, grouping: { instance: p.instance } };
    let spec: Parameters<typeof batch>[0];
    if (roll < 0.04) {
      spec = { ...base, seq: p.seq++, op: 'delete' };
    } else if (roll < 0.09 && p.seq > 0) {
      spec = { ...base, seq: p.seq - 1, points: [counter('c_total', 1e6)] }; // a replayed duplicate
    } else {
      p.c = rand() < 0.1 ? Math.floor(rand() * 3) : p.c + Math.floor(rand() * 10);
      p.n = rand() < 0.05 ? 1 : p.n + 1 + Math.floor(rand() * 5);
      p.h = p.h.map((v) => v + Math.floor(rand() * 3));
      const g = m === 150 ? Infinity : m === 160 ? -Infinity : rand() < 0.05 ? NaN : Math.round(rand() * 10_000) / 100;
      const points: InputPoint[] = [
        counter('c_total', p.c, { kind: pick(['a', 'b']) }),
        gauge('g', g, { kind: pick(['a', 'b']) }),
        gauge('temperature', Math.round(rand() * 300) / 10),
        ...histogram('lat', { '1': p.h[0]!, '5': p.h[0]! + p.h[1]!, '+Inf': p.h[0]! + p.h[1]! + p.h[2]! }, p.h[0]! * 0.5, p.h[0]! + p.h[1]! + p.h[2]!),
        point('rpc', 'summary', rand(), { quantile: '0.9' }),
        point('rpc_count', 'summary', p.c, {}, 'rpc'),
        native(p.n, p.id === 'p5'),
      ];
      spec = { ...base, seq: p.seq++, points };
    }
    const b = batch(spec);
    if (!replacing) b.partial = true;
    out.push({ batch: b, now, collect: rand() < 0.2 });
  }
  return out;
}

/** Steps before the checkpoint. */
export const CUT = 170;

/** An aggregate fed the steps before the cut. */
export function cutAggregate(replacing = true): PartitionAggregate {
  const agg = new PartitionAggregate(SCENARIO_OPTIONS);
  for (const s of scenarioSteps(replacing).slice(0, CUT)) {
    agg.apply(s.batch, s.now);
    if (s.collect) agg.collect(s.now);
  }
  return agg;
}

/** As JSON keeps it: non-finite numbers as text, maps as pairs. */
export function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v instanceof Map ? [...v] : v)));
}

/** What the aggregate says over the steps after the cut: each apply's result and collect's samples, a last collect. */
export function futureOf(agg: PartitionAggregate, replacing = true): unknown {
  const said: unknown[] = [];
  const steps = scenarioSteps(replacing);
  for (const s of steps.slice(CUT)) {
    said.push(agg.apply(s.batch, s.now));
    if (s.collect) said.push(agg.collect(s.now));
  }
  const end = steps[steps.length - 1]!.now;
  said.push(agg.collect(end + 1_000), agg.collect(end + 30_000), agg.collect(end + 90_000));
  return plain(said);
}
