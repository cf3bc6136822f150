import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, byId, counter, gauge, histogram, options, point } from './fixtures.js';

describe('gauges and untyped: last value', () => {
  it('the latest write of any producer wins', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [gauge('queue_depth', 7)] }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'b' }, points: [gauge('queue_depth', 3)] }), 1100);
    expect(byId(agg.collect(1100))).toEqual({ 'queue_depth{job="job1"}': 3 });
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [gauge('queue_depth', 9)] }), 1200);
    expect(byId(agg.collect(1200))).toEqual({ 'queue_depth{job="job1"}': 9 });
  });

  it('untyped behaves as a gauge, also when it goes down', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [point('temp', 'untyped', 20)] }), 1000);
    agg.apply(batch({ producer: 'p1', points: [point('temp', 'untyped', 15)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'temp{job="job1"}': 15 });
  });

  it('op delete drops the producer gauges (falling back to the other producer) but keeps counter totals', () => {
    const agg = new PartitionAggregate(options());
    const a = { instance: 'a' };
    const b = { instance: 'b' };
    agg.apply(batch({ producer: 'p1', grouping: a, seq: 0, points: [gauge('g', 1), counter('c_total', 10)] }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: b, seq: 0, points: [gauge('g', 2)] }), 1100);
    agg.apply(batch({ producer: 'p2', grouping: b, seq: 1, op: 'delete' }), 1200);
    expect(byId(agg.collect(1200))).toEqual({ 'g{job="job1"}': 1, 'c_total{job="job1"}': 10 });
    agg.apply(batch({ producer: 'p1', grouping: a, seq: 1, op: 'delete' }), 1300);
    // The last gauge producer ended: a staleness marker once, then the series is gone.
    expect(byId(agg.collect(1300))).toEqual({ 'g{job="job1"}': 'stale', 'c_total{job="job1"}': 10 });
    expect(byId(agg.collect(1400))).toEqual({ 'c_total{job="job1"}': 10 });
  });

  it('a gauge fed again after its delete comes back as a fresh series', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [gauge('g', 1)] }), 1000);
    agg.apply(batch({ producer: 'p1', op: 'delete' }), 1100);
    agg.collect(1100);
    agg.apply(batch({ producer: 'p2', points: [gauge('g', 4)] }), 1200);
    expect(byId(agg.collect(1200))).toEqual({ 'g{job="job1"}': 4 });
  });

  it('a delete is deduplicated by seq like any message', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, seq: 2, points: [gauge('g', 1)] }), 1000);
    expect(agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, seq: 1, op: 'delete' }), 1100).duplicate).toBe(true);
    expect(byId(agg.collect(1100))).toEqual({ 'g{job="job1"}': 1 });
  });
});

describe('histograms: buckets, _sum, _count merged like counters', () => {
  it('merges producers bucket by bucket, instance removed', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: histogram('lat', { '0.1': 1, '1': 3, '+Inf': 4 }, 2.5, 4) }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'b' }, points: histogram('lat', { '0.1': 2, '1': 2, '+Inf': 2 }, 0.1, 2) }), 1000);
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: histogram('lat', { '0.1': 1, '1': 4, '+Inf': 6 }, 4, 6) }), 2000);
    expect(byId(agg.collect(2000))).toEqual({
      'lat_bucket{job="job1",le="0.1"}': 3,
      'lat_bucket{job="job1",le="1"}': 6,
      'lat_bucket{job="job1",le="+Inf"}': 8,
      'lat_sum{job="job1"}': 4.1,
      'lat_count{job="job1"}': 8,
    });
  });

  it('is atomic per push: when one part hits a limit, none of that histogram is applied', () => {
    // Room for 4 series: the histogram needs 5 (3 buckets, _sum, _count), the counter 1.
    const agg = new PartitionAggregate(options({ limits: { maxSeries: 4, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
    const r = agg.apply(batch({ producer: 'p1', points: [counter('c_total', 1), ...histogram('lat', { '0.1': 1, '1': 1, '+Inf': 1 }, 1, 1)] }), 1000);
    expect(r.accepted).toBe(1);
    expect(r.rejected).toBe(5);
    expect(r.limitHits.maxSeries).toBe(2);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total{job="job1"}': 1 });
    expect(agg.seriesCount).toBe(1);
  });

  it('a negative bucket rejects the whole histogram of that push, other histograms apply', () => {
    const agg = new PartitionAggregate(options());
    const r = agg.apply(
      batch({
        producer: 'p1',
        points: [...histogram('lat', { '1': 1, '+Inf': -2 }, 1, 2, { op: 'a' }), ...histogram('lat', { '1': 1, '+Inf': 1 }, 1, 1, { op: 'b' })],
      }),
      1000,
    );
    expect(r).toMatchObject({ accepted: 4, rejected: 4, invalid: 1 });
    expect(Object.keys(byId(agg.collect(1000))).every((k) => k.includes('op="b"'))).toBe(true);
  });

  it('delta histograms add bucket increases', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', temporality: 'delta', points: histogram('lat', { '1': 1, '+Inf': 2 }, 3, 2) }), 1000);
    agg.apply(batch({ producer: 'p1', temporality: 'delta', points: histogram('lat', { '1': 1, '+Inf': 1 }, 0.5, 1) }), 2000);
    expect(byId(agg.collect(2000))).toMatchObject({ 'lat_bucket{job="job1",le="+Inf"}': 3, 'lat_sum{job="job1"}': 3.5, 'lat_count{job="job1"}': 3 });
  });
});

describe('summaries: quantiles per producer, _sum/_count as counters', () => {
  const summary = (q50: number, sum: number, count: number) => [
    point('rpc_seconds', 'summary', q50, { quantile: '0.5' }),
    point('rpc_seconds_sum', 'summary', sum, {}, 'rpc_seconds'),
    point('rpc_seconds_count', 'summary', count, {}, 'rpc_seconds'),
  ];

  it('keeps the instance label on quantiles and removes it from _sum/_count', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: summary(0.2, 10, 4) }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'b' }, points: summary(0.4, 5, 1) }), 1000);
    expect(byId(agg.collect(1000))).toEqual({
      'rpc_seconds{instance="a",job="job1",quantile="0.5"}': 0.2,
      'rpc_seconds{instance="b",job="job1",quantile="0.5"}': 0.4,
      'rpc_seconds_sum{job="job1"}': 15,
      'rpc_seconds_count{job="job1"}': 5,
    });
  });

  it('names quantiles by a producer label holding the producer id when no producer label is present', () => {
    const agg = new PartitionAggregate(options());
    // A grouping label that names no producer (a delete without grouping labels would end the whole job).
    const grouping = { pod: 'x' };
    agg.apply(batch({ producer: 'run-1', grouping, points: summary(0.2, 10, 4) }), 1000);
    agg.apply(batch({ producer: 'run-2', grouping, points: summary(0.3, 1, 1) }), 1000);
    expect(byId(agg.collect(1000))).toEqual({
      'rpc_seconds{job="job1",pod="x",producer="run-1",quantile="0.5"}': 0.2,
      'rpc_seconds{job="job1",pod="x",producer="run-2",quantile="0.5"}': 0.3,
      'rpc_seconds_sum{job="job1",pod="x"}': 11,
      'rpc_seconds_count{job="job1",pod="x"}': 5,
    });
    agg.apply(batch({ producer: 'run-1', grouping, op: 'delete' }), 1100);
    expect(byId(agg.collect(1100))).toMatchObject({
      'rpc_seconds{job="job1",pod="x",producer="run-1",quantile="0.5"}': 'stale',
      'rpc_seconds{job="job1",pod="x",producer="run-2",quantile="0.5"}': 0.3,
      'rpc_seconds_count{job="job1",pod="x"}': 5,
    });
  });
});

describe('series TTL and producer TTL', () => {
  it('a series not fed for seriesTtlMs comes out once as stale, then is dropped', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 10_000 }));
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 1), gauge('g', 2)] }), 1000);
    // a POST of a_total alone: g is not replaced, it expires
    agg.apply(batch({ producer: 'p1', op: 'add', points: [counter('a_total', 2)] }), 5000);
    expect(byId(agg.collect(10_999))).toEqual({ 'a_total{job="job1"}': 2, 'g{job="job1"}': 2 });
    const expired = agg.collect(11_000);
    expect(byId(expired)).toEqual({ 'a_total{job="job1"}': 2, 'g{job="job1"}': 'stale' });
    expect(expired.find((s) => s.stale)!.value).toBeNaN();
    expect(agg.seriesCount).toBe(1);
    expect(byId(agg.collect(16_000))).toEqual({ 'a_total{job="job1"}': 'stale' });
    expect(agg.collect(17_000)).toEqual([]);
    expect(agg.seriesCount).toBe(0);
  });

  it('a producer seen within producerTtlMs keeps its baseline after its output expired', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 10_000, producerTtlMs: 100_000 }));
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 10)] }), 0);
    agg.collect(20_000); // output expires
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 12)] }), 30_000);
    expect(byId(agg.collect(30_000))).toEqual({ 'a_total{job="job1"}': 2 });
  });

  it('a producer silent for producerTtlMs is forgotten: same id counts from zero, old seq accepted', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 100_000, producerTtlMs: 10_000 }));
    agg.apply(batch({ producer: 'p1', seq: 5, points: [counter('a_total', 10)] }), 0);
    expect(agg.producerCount).toBe(1);
    agg.collect(10_000);
    expect(agg.producerCount).toBe(0);
    expect(agg.apply(batch({ producer: 'p1', seq: 1, points: [counter('a_total', 10)] }), 11_000).duplicate).toBe(false);
    expect(byId(agg.collect(11_000))).toEqual({ 'a_total{job="job1"}': 20 });
  });

  it('a gauge contribution not fed for seriesTtlMs leaves sum rules while others keep it alive', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 10_000, rules: [{ match: 'g', outputs: ['sum'] }] }));
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [gauge('g', 1)] }), 0);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'b' }, points: [gauge('g', 2)] }), 5000);
    expect(byId(agg.collect(9000))).toEqual({ 'g:sum{}': 3 });
    expect(byId(agg.collect(10_000))).toEqual({ 'g:sum{}': 2 });
  });

  it('memory follows active series: expired inputs, scopes and producers are released', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 1000, producerTtlMs: 2000 }));
    for (let i = 0; i < 100; i++) agg.apply(batch({ producer: `p${i}`, grouping: { instance: `h${i}` }, points: [counter('c_total', i)] }), 0);
    agg.collect(3000);
    const state = agg.toState();
    expect(state.outputs.value).toEqual([]);
    expect(state.inputs.key).toEqual([]);
    expect(state.scopes.key).toEqual([]);
    expect(state.producers.id).toEqual([]);
  });
});

describe('op delete ends one group', () => {
  it('a producer pushing two groups deletes one: the other keeps its gauges', () => {
    const agg = new PartitionAggregate(options());
    for (const instance of ['a', 'b']) agg.apply(batch({ producer: 'p1', grouping: { instance }, points: [gauge('g', instance === 'a' ? 1 : 2)] }), 1000);
    for (const region of ['eu', 'us']) agg.apply(batch({ producer: 'p1', grouping: { region }, points: [gauge('h', region === 'eu' ? 3 : 4)] }), 1100);
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'b' }, op: 'delete' }), 1200);
    agg.apply(batch({ producer: 'p1', grouping: { region: 'us' }, op: 'delete' }), 1200);
    // g falls back to the value of group instance=a; h{region="us"} ends, h{region="eu"} stays.
    expect(byId(agg.collect(1300))).toEqual({ 'g{job="job1"}': 1, 'h{job="job1",region="eu"}': 3, 'h{job="job1",region="us"}': 'stale' });
  });

  it('a delete of a group the producer never pushed changes nothing', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [gauge('g', 1)] }), 1000);
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'z' }, op: 'delete' }), 1100);
    agg.apply(batch({ producer: 'p1', job: 'other', grouping: { instance: 'a' }, op: 'delete' }), 1100);
    expect(byId(agg.collect(1200))).toEqual({ 'g{job="job1"}': 1 });
  });
});
