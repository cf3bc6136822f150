// A producer that lives on (a Prometheus agent remote-writing to the relay, a long-running Flink task) and whose
// series churn (pods come and go) kept the counter baseline and gauge contribution of every series it ever pushed:
// they held their input series for as long as the producer pushed anything, so memory and checkpoints grew without
// bound (one producer, 1,000 new series an hour: 60,000 input series after 60 simulated hours, against the 26,000 its
// totals' lifetime holds). A baseline now goes once every output it fed has ended and its input was fed by no one for
// counter_ttl + producer_ttl (as long as a silent producer's baselines were kept), a contribution once not fed for
// series_ttl. Found by review (2026-12-02).
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { AggregateState } from '../../src/aggregate/state.js';
import { batch, byId, counter, gauge, options } from '../aggregate/fixtures.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = 1_700_000_000_000;

const inputsHeld = (agg: PartitionAggregate) => (agg.toState() as AggregateState).inputs.key.length;

describe('a producer that lives on lets go of the series it stopped pushing', () => {
  it('counters: input series stay bounded by what counter_ttl holds, however long the producer pushes', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, counterTtlMs: 6 * HOUR, producerTtlMs: HOUR, limits: { maxSeries: 100_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
    let seq = 0;
    const held: number[] = [];
    for (let hour = 0; hour < 30; hour++) {
      for (let minute = 0; minute < 60; minute += 10) {
        const at = T0 + hour * HOUR + minute * MIN;
        // 100 series of this hour's pods, and one series pushed all along
        const points = Array.from({ length: 100 }, (_, s) => counter('x_total', minute + 1, { pod: `pod-${hour}-${s}` }));
        points.push(counter('x_total', hour * 60 + minute + 1, { pod: 'always' }));
        expect(agg.apply(batch({ producer: 'remote-write/job=agent', seq: ++seq, grouping: { instance: 'a' }, points }), at).accepted).toBe(101);
        agg.collect(at + 1);
      }
      held.push(inputsHeld(agg));
    }
    // Seven hours of pods (counter_ttl + producer_ttl: 700) and the one pushed all along, give or take the hour being released
    expect(Math.max(...held.slice(10))).toBeLessThanOrEqual(801);
    expect(held[29]).toBeGreaterThanOrEqual(701);
    // The series pushed all along kept its baseline: its total is its last cumulative value
    const out = byId(agg.collect(T0 + 30 * HOUR));
    expect(out['x_total{job="job1",pod="always"}']).toBe(29 * 60 + 51);
  });

  it('a series silent past counter_ttl + producer_ttl and pushed again starts again from its value, like a restarted process; before that it adds what it added', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, counterTtlMs: HOUR, producerTtlMs: HOUR }));
    let seq = 0;
    const push = (at: number, points = [counter('c_total', 40, { pod: 'p' }), counter('c_total', 1, { pod: 'keep-alive' })]) =>
      agg.apply(batch({ producer: 'agent', seq: ++seq, grouping: { instance: 'a' }, points }), at);
    push(T0);
    // the producer goes on pushing another series; pod p is silent for three hours (its total ends after one)
    for (let m = 10; m <= 180; m += 10) {
      push(T0 + m * MIN, [counter('c_total', 1 + m, { pod: 'keep-alive' })]);
      agg.collect(T0 + m * MIN + 1);
    }
    expect(inputsHeld(agg)).toBe(1);
    // a new pod p (a restarted process) counts from zero: its first value is all increase
    push(T0 + 190 * MIN, [counter('c_total', 7, { pod: 'p' }), counter('c_total', 192, { pod: 'keep-alive' })]);
    expect(byId(agg.collect(T0 + 191 * MIN))).toEqual({ 'c_total{job="job1",pod="p"}': 7, 'c_total{job="job1",pod="keep-alive"}': 192 });
    // within counter_ttl + producer_ttl of its last push, a series pushed again adds what it added (its total had ended)
    push(T0 + 200 * MIN, [counter('c_total', 12, { pod: 'q' }), counter('c_total', 202, { pod: 'keep-alive' })]);
    for (let m = 210; m <= 300; m += 10) {
      push(T0 + m * MIN, [counter('c_total', 1 + m, { pod: 'keep-alive' })]);
      agg.collect(T0 + m * MIN + 1);
    }
    push(T0 + 310 * MIN, [counter('c_total', 15, { pod: 'q' }), counter('c_total', 312, { pod: 'keep-alive' })]);
    expect(byId(agg.collect(T0 + 311 * MIN))['c_total{job="job1",pod="q"}']).toBe(3);
  });

  it('producer-label values that come and go (the instance of a pod) leave no scope behind', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, counterTtlMs: HOUR, producerTtlMs: HOUR }));
    let seq = 0;
    const scopes: number[] = [];
    for (let hour = 0; hour < 12; hour++) {
      for (let minute = 0; minute < 60; minute += 10) {
        const at = T0 + hour * HOUR + minute * MIN;
        // one producer id (as the Remote Write ingest names a job's sender), a new instance every hour
        const points = [counter('x_total', minute + 1, { a: '1' }), gauge('g', minute)];
        agg.apply(batch({ producer: 'remote-write/job=agent', seq: ++seq, grouping: { instance: `pod-${hour}` }, points }), at);
        agg.collect(at + 1);
      }
      scopes.push((agg.toState() as AggregateState).pscopes.key.length);
    }
    // counter_ttl + producer_ttl (two hours) of instances, and the current one
    expect(Math.max(...scopes)).toBeLessThanOrEqual(3);
    expect(byId(agg.collect(T0 + 12 * HOUR))['x_total{a="1",job="job1"}']).toBeGreaterThan(0);
  });

  it('a restored aggregate forgets the same producer-label values at the same time (their last push is in the state)', () => {
    const opts = options({ seriesTtlMs: 5 * MIN, counterTtlMs: HOUR, producerTtlMs: HOUR });
    const original = new PartitionAggregate(opts);
    let restored = new PartitionAggregate(opts);
    let seq = 0;
    const both = (instance: string, value: number, at: number) => {
      const b = batch({ producer: 'remote-write/job=agent', seq: ++seq, grouping: { instance }, points: [counter('x_total', value)] });
      expect(restored.apply(structuredClone(b), at)).toEqual(original.apply(b, at));
    };
    both('pod-0', 10, T0);
    for (let m = 0; m <= 150; m += 10) {
      both('pod-1', 5 + m, T0 + m * MIN);
      expect(byId(restored.collect(T0 + m * MIN + 1))).toEqual(byId(original.collect(T0 + m * MIN + 1)));
      // restored from a checkpoint an hour and a half after pod-0 last pushed
      if (m === 90) restored = PartitionAggregate.fromState(JSON.parse(JSON.stringify(restored.toState())), opts);
    }
    // two hours after its last push pod-0 was forgotten: pushing again, it counts from zero (12, not 12 - 10)
    both('pod-0', 12, T0 + 160 * MIN);
    const out = byId(original.collect(T0 + 161 * MIN));
    expect(byId(restored.collect(T0 + 161 * MIN))).toEqual(out);
    expect(out['x_total{job="job1"}']).toBe(10 + 155 + 12);
  });

  it('gauges: a contribution not fed for series_ttl lets its input go while the producer pushes others', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, producerTtlMs: HOUR }));
    let seq = 0;
    for (let m = 0; m < 120; m++) {
      const at = T0 + m * MIN;
      // every minute 10 new gauge series of new pods, and one gauge all along
      const points = Array.from({ length: 10 }, (_, s) => gauge('g', s, { pod: `pod-${m}-${s}` }));
      points.push(gauge('g', m, { pod: 'always' }));
      agg.apply(batch({ producer: 'agent', seq: ++seq, grouping: { instance: 'a' }, points }), at);
      agg.collect(at + 1);
    }
    // five to seven minutes of pods (10 a minute, released once a minute at most) and the one all along
    expect(inputsHeld(agg)).toBeLessThanOrEqual(71);
    expect(byId(agg.collect(T0 + 120 * MIN))['g{job="job1",pod="always"}']).toBe(119);
  });
});
