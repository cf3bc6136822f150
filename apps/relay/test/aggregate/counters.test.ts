import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, byId, counter, options, point } from './fixtures.js';

describe('counters: running totals of increases over all producers', () => {
  it('a new producer starts at zero: its first cumulative value is all increase', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [counter('rows_total', 5)] }), 1000);
    expect(byId(agg.collect(1000))).toEqual({ 'rows_total{job="job1"}': 5 });
  });

  it('adds new − last for a known producer', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 5)] }), 1000);
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 12)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'rows_total{job="job1"}': 12 });
  });

  it('treats a drop as a reset: the new value is all increase, the output never goes backwards', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 10)] }), 1000);
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 3)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'rows_total{job="job1"}': 13 });
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 4)] }), 3000);
    expect(byId(agg.collect(3000))).toEqual({ 'rows_total{job="job1"}': 14 });
  });

  it('many producers of one job never overwrite each other; instance is removed from the output', () => {
    const agg = new PartitionAggregate(options());
    for (let i = 0; i < 5; i++) {
      agg.apply(batch({ producer: `p${i}`, grouping: { instance: `host-${i}` }, points: [counter('rows_total', 10 + i)] }), 1000);
    }
    expect(byId(agg.collect(1000))).toEqual({ 'rows_total{job="job1"}': 10 + 11 + 12 + 13 + 14 });
    expect(agg.seriesCount).toBe(1);
  });

  it('overlapping runs of the same job and instance (two producer ids) are added, each from zero', () => {
    const agg = new PartitionAggregate(options());
    const g = { instance: 'host-1' };
    agg.apply(batch({ producer: 'run-1', grouping: g, points: [counter('rows_total', 4)] }), 1000);
    agg.apply(batch({ producer: 'run-2', grouping: g, points: [counter('rows_total', 1)] }), 1100);
    agg.apply(batch({ producer: 'run-1', grouping: g, points: [counter('rows_total', 6)] }), 1200);
    agg.apply(batch({ producer: 'run-2', grouping: g, points: [counter('rows_total', 7)] }), 1300);
    expect(byId(agg.collect(1300))).toEqual({ 'rows_total{job="job1"}': 13 });
  });

  it('delta inputs add directly, also as a per-point override', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', temporality: 'delta', points: [counter('rows_total', 3)] }), 1000);
    agg.apply(batch({ producer: 'p1', temporality: 'delta', points: [counter('rows_total', 3)] }), 2000);
    agg.apply(batch({ producer: 'p1', points: [{ ...counter('rows_total', 2), temporality: 'delta' }] }), 3000);
    expect(byId(agg.collect(3000))).toEqual({ 'rows_total{job="job1"}': 8 });
  });

  it('rejects negative and NaN counter values as invalid without touching the total', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('rows_total', 3)] }), 1000);
    const r = agg.apply(batch({ producer: 'p1', temporality: 'delta', points: [counter('rows_total', -1), counter('rows_total', NaN, { a: 'b' })] }), 2000);
    expect(r).toMatchObject({ accepted: 0, rejected: 2, invalid: 2 });
    expect(byId(agg.collect(2000))).toEqual({ 'rows_total{job="job1"}': 3 });
  });

  it('keeps grouping labels other than producer labels, and honours custom producer labels', () => {
    const agg = new PartitionAggregate(options({ producerLabels: ['pod'] }));
    agg.apply(batch({ producer: 'p1', grouping: { pod: 'a', instance: 'x', region: 'eu' }, points: [counter('c_total', 1)] }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: { pod: 'b', instance: 'x', region: 'eu' }, points: [counter('c_total', 2)] }), 1000);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total{instance="x",job="job1",region="eu"}': 3 });
  });

  it('keeps separate totals for separate label sets and jobs', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('c_total', 1, { t: 'a' }), counter('c_total', 2, { t: 'b' })] }), 1000);
    agg.apply(batch({ producer: 'p2', job: 'job2', points: [counter('c_total', 5, { t: 'a' })] }), 1000);
    expect(byId(agg.collect(1000))).toEqual({
      'c_total{job="job1",t="a"}': 1,
      'c_total{job="job1",t="b"}': 2,
      'c_total{job="job2",t="a"}': 5,
    });
  });

  it('a point key supplied by the decoder gives the same result as labels alone', () => {
    const a = new PartitionAggregate(options());
    const b = new PartitionAggregate(options());
    for (const [i, v] of [3, 7, 2, 9].entries()) {
      const plain = batch({ producer: 'p1', seq: i, points: [counter('c_total', v, { t: 'x' })] });
      a.apply(plain, 1000 + i);
      b.apply({ ...plain, points: plain.points.map((p) => ({ ...p, key: 'c_total{t="x"}' })) }, 1000 + i);
    }
    expect(b.collect(2000)).toEqual(a.collect(2000));
    expect(byId(a.collect(2000))).toEqual({ 'c_total{job="job1",t="x"}': 16 });
  });
});

describe('sequence numbers', () => {
  it('ignores a message whose seq is not above the last seen one, and counts it as duplicate', () => {
    const agg = new PartitionAggregate(options());
    expect(agg.apply(batch({ producer: 'p1', seq: 0, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).accepted).toBe(1);
    expect(agg.apply(batch({ producer: 'p1', seq: 1, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).accepted).toBe(1);
    const dup = agg.apply(batch({ producer: 'p1', seq: 1, temporality: 'delta', points: [counter('c_total', 1), counter('d_total', 1)] }), 1000);
    expect(dup).toMatchObject({ duplicate: true, duplicates: 2, accepted: 0 });
    expect(agg.apply(batch({ producer: 'p1', seq: 0, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(true);
    expect(agg.apply(batch({ producer: 'p2', seq: 0, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(false);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total{job="job1"}': 3 });
  });

  it('gaps are fine: only order matters', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 5, temporality: 'delta', points: [counter('c_total', 1)] }), 1000);
    expect(agg.apply(batch({ producer: 'p1', seq: 9, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(false);
    expect(agg.apply(batch({ producer: 'p1', seq: 7, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(true);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total{job="job1"}': 2 });
  });

  it('messages without seq are never deduplicated', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 3, temporality: 'delta', points: [counter('c_total', 1)] }), 1000);
    expect(agg.apply(batch({ producer: 'p1', temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(false);
    expect(agg.apply(batch({ producer: 'p1', seq: 3, temporality: 'delta', points: [counter('c_total', 1)] }), 1000).duplicate).toBe(true);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total{job="job1"}': 2 });
  });
});

describe('producer scopes: what is shared and what is per producer', () => {
  it('one producer id pushing under two instances keeps a baseline for each', () => {
    const agg = new PartitionAggregate(options());
    const push = (instance: string, v: number, now: number) =>
      agg.apply(batch({ producer: 'p1', grouping: { instance }, points: [counter('c_total', v)] }), now);
    push('w1', 10, 1000);
    push('w2', 5, 1100);
    push('w1', 12, 1200);
    push('w2', 6, 1300);
    expect(byId(agg.collect(1300))).toEqual({ 'c_total{job="job1"}': 18 });
  });

  it('instance labels inside the body keep series apart even for one producer', () => {
    const agg = new PartitionAggregate(options());
    const text = (a: number, b: number) => [
      { ...counter('c_total', a, { instance: 'x' }), key: 'c_total{instance="x"}' },
      { ...counter('c_total', b, { instance: 'y' }), key: 'c_total{instance="y"}' },
    ];
    agg.apply(batch({ producer: 'p1', points: text(10, 3) }), 1000);
    agg.apply(batch({ producer: 'p1', points: text(11, 4) }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'c_total{job="job1"}': 15 });
    // Keyless points (JSON lines, Remote Write) too.
    const keyless = new PartitionAggregate(options());
    keyless.apply(batch({ producer: 'p1', points: [counter('c_total', 10, { instance: 'x' }), counter('c_total', 3, { instance: 'y' })] }), 1000);
    keyless.apply(batch({ producer: 'p1', points: [counter('c_total', 11, { instance: 'x' }), counter('c_total', 4, { instance: 'y' })] }), 2000);
    expect(byId(keyless.collect(2000))).toEqual({ 'c_total{job="job1"}': 15 });
  });

  it('a rule grouping by instance keeps producers apart (inputs not shared)', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'c_total', by: ['instance'], outputs: ['total'] }] }));
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [counter('c_total', 4)] }), 1000);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'b' }, points: [counter('c_total', 6)] }), 1000);
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points: [counter('c_total', 5)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'c_total:by_instance_total{instance="a"}': 5, 'c_total:by_instance_total{instance="b"}': 6 });
  });

  it('a grouping value longer than the limit rejects the message points', () => {
    const agg = new PartitionAggregate(options({ limits: { maxSeries: 100, maxLabelsPerSeries: 30, maxLabelValueLength: 8 } }));
    const r = agg.apply(batch({ producer: 'p1', grouping: { instance: 'a-very-long-host-name' }, points: [counter('c_total', 4), counter('d_total', 1)] }), 1000);
    expect(r).toMatchObject({ accepted: 0, rejected: 2, limitHits: { maxLabelValueLength: 2 } });
    expect(agg.collect(1000)).toEqual([]);
  });

  it('a total never becomes +Inf: a rule total over gauges refuses +Inf and values past 1e300 as invalid', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'temp', outputs: ['total'] }] }));
    agg.apply(batch({ producer: 'p1', points: [point('temp', 'gauge', 5)] }), 1000);
    const r = agg.apply(batch({ producer: 'p2', points: [point('temp', 'gauge', Infinity)] }), 1000);
    expect(r).toMatchObject({ accepted: 0, invalid: 1 });
    expect(agg.apply(batch({ producer: 'p3', points: [point('temp', 'gauge', 1e301)] }), 1000)).toMatchObject({ invalid: 1 });
    expect(byId(agg.collect(1000))).toEqual({ 'temp:total{}': 5 });
  });
});

describe('rule labels named like Object.prototype members', () => {
  it('a `by: [constructor]` rule leaves the label out of series that lack it (no inherited member taken for a value)', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'c_total', by: ['constructor'], outputs: ['total'] }] }));
    agg.apply(batch({ producer: 'p1', points: [counter('c_total', 2), counter('c_total', 3, { constructor: 'x' })] }), 1000);
    expect(byId(agg.collect(1000))).toEqual({ 'c_total:by_constructor_total{}': 2, 'c_total:by_constructor_total{constructor="x"}': 3 });
  });
});
