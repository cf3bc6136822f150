import { describe, expect, it } from 'vitest';
import { AggregateError, PartitionAggregate } from '../../src/aggregate/index.js';
import type { AggregateOptions } from '../../src/aggregate/index.js';
import type { IngestBatch, InputPoint } from '../../src/model.js';
import { batch, byId, counter, gauge, histogram, options, point, rng } from './fixtures.js';
import { SCENARIO_OPTIONS } from './state-scenario.js';

const limits = (over: Partial<AggregateOptions['limits']>) => options({ limits: { maxSeries: 100, maxLabelsPerSeries: 30, maxLabelValueLength: 200, ...over } });

describe('limits: counted, offending series rejected, never a crash', () => {
  it('maxSeries refuses new output series and keeps feeding existing ones', () => {
    const agg = new PartitionAggregate(limits({ maxSeries: 2 }));
    const r = agg.apply(batch({ producer: 'p1', points: [counter('a_total', 1), counter('b_total', 1), counter('c_total', 1)] }), 1000);
    expect(r).toMatchObject({ accepted: 2, rejected: 1, limitHits: { maxSeries: 1 } });
    const r2 = agg.apply(batch({ producer: 'p1', points: [counter('a_total', 5), counter('c_total', 1)] }), 2000);
    expect(r2).toMatchObject({ accepted: 1, rejected: 1, limitHits: { maxSeries: 1 } });
    expect(byId(agg.collect(2000))).toEqual({ 'a_total{job="job1"}': 5, 'b_total{job="job1"}': 1 });
  });

  it('maxSeriesPerJob limits one job without starving the others', () => {
    const agg = new PartitionAggregate(limits({ maxSeriesPerJob: 1 }));
    agg.apply(batch({ producer: 'p1', job: 'noisy', points: [counter('a_total', 1), counter('b_total', 1)] }), 1000);
    const r = agg.apply(batch({ producer: 'p2', job: 'quiet', points: [counter('a_total', 1)] }), 1000);
    expect(r.accepted).toBe(1);
    expect(byId(agg.collect(1000))).toEqual({ 'a_total{job="noisy"}': 1, 'a_total{job="quiet"}': 1 });
  });

  it('maxLabelsPerSeries and maxLabelValueLength reject the series', () => {
    const agg = new PartitionAggregate(limits({ maxLabelsPerSeries: 3, maxLabelValueLength: 5 }));
    const r = agg.apply(
      batch({ producer: 'p1', points: [counter('a_total', 1, { x: '1' }), counter('b_total', 1, { x: '1', y: '2' }), counter('c_total', 1, { x: '123456' })] }),
      1000,
    );
    expect(r).toMatchObject({ accepted: 1, rejected: 2, limitHits: { maxLabelsPerSeries: 1, maxLabelValueLength: 1 } });
    expect(byId(agg.collect(1000))).toEqual({ 'a_total{job="job1",x="1"}': 1 });
  });

  it('space freed by expiry is usable again', () => {
    const agg = new PartitionAggregate({ ...limits({ maxSeries: 1 }), seriesTtlMs: 1000 });
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 1)] }), 0);
    expect(agg.apply(batch({ producer: 'p1', points: [counter('b_total', 1)] }), 0).limitHits.maxSeries).toBe(1);
    agg.collect(1000);
    expect(agg.apply(batch({ producer: 'p1', points: [counter('b_total', 1)] }), 1000).accepted).toBe(1);
  });
});

/** A random but replayable workload: counters, gauges, histograms, summaries, deletes, duplicates, expiry. */
function workload(seed: number, messages: number): Array<{ batch: IngestBatch; now: number; collect: boolean }> {
  const rand = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const producers = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, instance: `h${i % 3}`, seq: 0, c: 0, h: [0, 0, 0] }));
  const out: Array<{ batch: IngestBatch; now: number; collect: boolean }> = [];
  let now = 0;
  for (let m = 0; m < messages; m++) {
    now += Math.floor(rand() * 4000);
    const p = pick(producers);
    const roll = rand();
    let spec: Parameters<typeof batch>[0];
    if (roll < 0.05) {
      spec = { producer: p.id, seq: p.seq++, grouping: { instance: p.instance }, op: 'delete' };
    } else if (roll < 0.1 && p.seq > 0) {
      spec = { producer: p.id, seq: p.seq - 1, grouping: { instance: p.instance }, points: [counter('c_total', 1e6)] }; // a replayed duplicate
    } else {
      p.c = rand() < 0.1 ? Math.floor(rand() * 3) : p.c + Math.floor(rand() * 10);
      p.h = p.h.map((v) => v + Math.floor(rand() * 3));
      const points: InputPoint[] = [
        counter('c_total', p.c, { kind: pick(['a', 'b']) }),
        gauge('g', rand() * 100, { kind: 'a' }),
        ...histogram('lat', { '1': p.h[0]!, '5': p.h[0]! + p.h[1]!, '+Inf': p.h[0]! + p.h[1]! + p.h[2]! }, p.h[0]! * 0.5, p.h[0]! + p.h[1]! + p.h[2]!),
        point('rpc', 'summary', rand(), { quantile: '0.9' }),
        point('rpc_count', 'summary', p.c, {}, 'rpc'),
      ];
      spec = { producer: p.id, seq: p.seq++, grouping: { instance: p.instance }, points };
    }
    out.push({ batch: batch(spec), now, collect: rand() < 0.2 });
  }
  return out;
}

/** The scenario's rules (state-scenario.ts): every gauge rule output, a total over counters, a histogram. */
const ruleOptions = SCENARIO_OPTIONS;

describe('checkpoint state', () => {
  it('fromState(toState()) through JSON gives exactly the same future outputs', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const steps = workload(seed, 300);
      const original = new PartitionAggregate(ruleOptions);
      const cut = 120 + seed * 10;
      steps.slice(0, cut).forEach((s) => {
        original.apply(s.batch, s.now);
        if (s.collect) original.collect(s.now);
      });
      const restored = PartitionAggregate.fromState(JSON.parse(JSON.stringify(original.toState())), ruleOptions);
      expect(restored.seriesCount).toBe(original.seriesCount);
      for (const s of steps.slice(cut)) {
        expect(restored.apply(s.batch, s.now)).toEqual(original.apply(s.batch, s.now));
        if (s.collect) expect(restored.collect(s.now)).toEqual(original.collect(s.now));
      }
      const end = steps[steps.length - 1]!.now;
      expect(restored.collect(end)).toEqual(original.collect(end));
      expect(JSON.stringify(restored.toState())).toBe(JSON.stringify(original.toState()));
    }
  });

  it('round-trips non-finite values', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [gauge('g', Infinity), gauge('h', NaN)] }), 0);
    const restored = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
    expect(byId(restored.collect(0))).toEqual({ 'g{job="job1"}': Infinity, 'h{job="job1"}': NaN });
  });

  it('restores a version 1 state (one array per series) written by an older relay', () => {
    // What a relay of version 1 wrote after p1 pushed a_total 5, b_total 2 (at 1000) and 7, 3 (at 2000).
    const v1 = {
      format: 'prom-relay.aggregate',
      version: 1,
      tick: 0,
      outputs: [
        [{ __name__: 'a_total', job: 'job1' }, 'total', 'job1', 7, 2000, null],
        [{ __name__: 'b_total', job: 'job1' }, 'total', 'job1', 3, 2000, null],
      ],
      scopes: [
        [
          'job1',
          [
            ['__name__="a_total",job="job1",', 'a_total', 'counter', 1, null, 2000, [0]],
            ['__name__="b_total",job="job1",', 'b_total', 'counter', 1, null, 2000, [1]],
          ],
        ],
      ],
      producers: [['p1', 'job1', 1, 2000, [['', [0, 7, 1, 3], null]]]],
    };
    const restored = PartitionAggregate.fromState(v1, options());
    expect(byId(restored.collect(3000))).toEqual({ 'a_total{job="job1"}': 7, 'b_total{job="job1"}': 3 });
    // the restored producer baselines hold: only the increase counts, and the next state is version 4
    restored.apply(batch({ producer: 'p1', seq: 2, points: [counter('a_total', 10), counter('b_total', 3)] }), 4000);
    expect(byId(restored.collect(5000))).toEqual({ 'a_total{job="job1"}': 10, 'b_total{job="job1"}': 3 });
    expect(restored.toState().version).toBe(5);
  });

  it('rejects a version 3 state whose columns do not match', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 5)] }), 1000);
    const state = agg.toState();
    state.outputs.lastFed.pop();
    expect(() => PartitionAggregate.fromState(state, options())).toThrow(/corrupt/);
  });

  it('rejects something that is not a state', () => {
    expect(() => PartitionAggregate.fromState({ hello: 1 }, options())).toThrow(AggregateError);
    expect(() => PartitionAggregate.fromState({ format: 'prom-relay.aggregate', version: 1, tick: 0, outputs: 5 }, options())).toThrow(/corrupt/);
  });
});

describe('property: totals equal what producers emitted', () => {
  it('random interleavings of producers with resets, duplicates and replays give exact totals', () => {
    for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
      const rand = rng(seed);
      const agg = new PartitionAggregate(options({ seriesTtlMs: 1e9, producerTtlMs: 1e9 }));
      const emitted = new Map<string, number>(); // label `t` → sum of true increases
      const producers = Array.from({ length: 10 }, (_, i) => ({ id: `run-${i}`, seq: 0, values: new Map<string, number>(), delta: i % 3 === 0 }));
      const sent: IngestBatch[] = [];
      for (let m = 0; m < 500; m++) {
        const p = producers[Math.floor(rand() * producers.length)]!;
        // Most producers push under one instance; some (one producer id, several groups) under two.
        const instance = `host-${(Number(p.id.slice(4)) + (rand() < 0.2 ? 1 : 0)) % 4}`;
        const points: InputPoint[] = [];
        for (const t of ['a', 'b', 'c']) {
          if (rand() < 0.3) continue; // a series missing from a push is simply not fed
          const inc = Math.floor(rand() * 20);
          emitted.set(t, (emitted.get(t) ?? 0) + inc);
          if (p.delta) {
            points.push(counter('jobs_total', inc, { t }));
          } else {
            const vk = `${instance}/${t}`;
            const before = p.values.get(vk) ?? 0;
            // A restart of the process (same producer id) resets to the increase itself.
            const next = rand() < 0.05 ? inc : before + inc;
            if (next === inc && before !== 0 && inc >= before) {
              // Not observable as a reset: keep cumulative semantics exact.
              p.values.set(vk, before + inc);
              points.push(counter('jobs_total', before + inc, { t }));
            } else {
              p.values.set(vk, next);
              points.push(counter('jobs_total', next, { t }));
            }
          }
        }
        const b = batch({ producer: p.id, seq: p.seq++, temporality: p.delta ? 'delta' : 'cumulative', grouping: { instance }, points });
        sent.push(b);
        agg.apply(b, m);
        if (rand() < 0.1) agg.apply(sent[Math.floor(rand() * sent.length)]!, m); // a replay: ignored by seq
      }
      const totals = byId(agg.collect(1000));
      for (const [t, sum] of emitted) expect(totals[`jobs_total{job="job1",t="${t}"}`]).toBe(sum);
    }
  });

  it('output counters never decrease across a random workload', () => {
    const agg = new PartitionAggregate(ruleOptions);
    const last = new Map<string, number>();
    for (const s of workload(42, 400)) {
      agg.apply(s.batch, s.now);
      for (const sample of agg.collect(s.now)) {
        const name = sample.labels['__name__']!;
        const id = JSON.stringify(sample.labels);
        if (sample.stale) {
          last.delete(id); // after a staleness marker a series may start again from zero
          continue;
        }
        // Counter semantics: default counters, histograms (also merged by a rule), summary counts, rule totals.
        const isCounter = /^(c_total|lat_bucket|lat_sum|lat_count|rpc_count|lat:histogram_(bucket|sum|count)|c_total:without_kind_total)$/.test(name);
        if (!isCounter) continue;
        expect(sample.value).toBeGreaterThanOrEqual(last.get(id) ?? 0);
        last.set(id, sample.value);
      }
    }
    expect(last.size).toBeGreaterThan(3);
  });
});
