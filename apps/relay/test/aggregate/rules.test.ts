import { describe, expect, it } from 'vitest';
import { AggregateError, PartitionAggregate, SeriesSelector } from '../../src/aggregate/index.js';
import type { AggregationRule } from '../../src/aggregate/index.js';
import { batch, byId, counter, gauge, histogram, options } from './fixtures.js';

/** Three producers in two regions, each one gauge `mem` and one counter `req_total`. */
function fleet(rules: AggregationRule[]) {
  const agg = new PartitionAggregate(options({ rules }));
  const rows: Array<[string, string, string, number, number]> = [
    ['p1', 'h1', 'eu', 10, 100],
    ['p2', 'h2', 'eu', 30, 50],
    ['p3', 'h3', 'us', 5, 7],
  ];
  for (const [producer, instance, region, mem, req] of rows) {
    agg.apply(batch({ producer, grouping: { instance }, points: [gauge('mem', mem, { region }), counter('req_total', req, { region })] }), 1000);
  }
  return agg;
}

describe('rules: outputs across producers, by and without', () => {
  it('sum, min, max, avg, count, last by region, named <metric>:by_<labels>_<output>', () => {
    const agg = fleet([{ match: 'mem', by: ['region'], outputs: ['sum', 'min', 'max', 'avg', 'count', 'last'] }]);
    expect(byId(agg.collect(1000))).toEqual({
      'mem:by_region_sum{region="eu"}': 40,
      'mem:by_region_min{region="eu"}': 10,
      'mem:by_region_max{region="eu"}': 30,
      'mem:by_region_avg{region="eu"}': 20,
      'mem:by_region_count{region="eu"}': 2,
      'mem:by_region_last{region="eu"}': 30,
      'mem:by_region_sum{region="us"}': 5,
      'mem:by_region_min{region="us"}': 5,
      'mem:by_region_max{region="us"}': 5,
      'mem:by_region_avg{region="us"}': 5,
      'mem:by_region_count{region="us"}': 1,
      'mem:by_region_last{region="us"}': 5,
      // Not matched: default semantics.
      'req_total{job="job1",region="eu"}': 150,
      'req_total{job="job1",region="us"}': 7,
    });
  });

  it('total without region: running total of increases, producer labels removed too', () => {
    const agg = fleet([{ match: 'req_total', without: ['region'], outputs: ['total'] }]);
    const out = byId(agg.collect(1000));
    expect(out['req_total:without_region_total{job="job1"}']).toBe(157);
    expect(Object.keys(out).some((k) => k.startsWith('req_total{'))).toBe(false);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'h2' }, points: [counter('req_total', 20, { region: 'eu' })] }), 2000);
    expect(byId(agg.collect(2000))['req_total:without_region_total{job="job1"}']).toBe(177);
  });

  it('no by and no without aggregates over every label', () => {
    const agg = fleet([{ match: 'mem', outputs: ['max'] }]);
    expect(byId(agg.collect(1000))['mem:max{}']).toBe(30);
  });

  it('selectors with regex and negative matchers; keepInput also keeps the default output', () => {
    const agg = fleet([{ match: '{__name__=~"me.*",region!="us"}', by: ['region'], outputs: ['sum'], keepInput: true }]);
    const out = byId(agg.collect(1000));
    expect(out['mem:by_region_sum{region="eu"}']).toBe(40);
    expect(out['mem:by_region_sum{region="us"}']).toBeUndefined();
    expect(out['mem{job="job1",region="eu"}']).toBe(30);
    expect(out['mem{job="job1",region="us"}']).toBe(5);
  });

  it('two rules on one metric feed both', () => {
    const agg = fleet([
      { match: 'mem', by: ['region'], outputs: ['max'] },
      { match: 'mem', outputs: ['sum'] },
    ]);
    const out = byId(agg.collect(1000));
    expect(out['mem:by_region_max{region="eu"}']).toBe(30);
    expect(out['mem:sum{}']).toBe(45);
  });

  it('histogram output over a histogram family merges it by the rule labels, le kept', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'lat', by: ['op'], outputs: ['histogram'] }] }));
    agg.apply(batch({ producer: 'p1', points: histogram('lat', { '1': 1, '+Inf': 2 }, 3, 2, { op: 'get', path: '/a' }) }), 1000);
    agg.apply(batch({ producer: 'p1', points: histogram('lat', { '1': 2, '+Inf': 2 }, 1, 2, { op: 'get', path: '/b' }) }), 1000);
    expect(byId(agg.collect(1000))).toEqual({
      'lat:by_op_histogram_bucket{le="1",op="get"}': 3,
      'lat:by_op_histogram_bucket{le="+Inf",op="get"}': 4,
      'lat:by_op_histogram_sum{op="get"}': 4,
      'lat:by_op_histogram_count{op="get"}': 4,
    });
  });

  it('histogram output over gauges: the distribution of the producers current values', () => {
    const agg = fleet([{ match: 'mem', outputs: ['histogram'], buckets: [8, 20] }]);
    expect(byId(agg.collect(1000))).toEqual({
      'mem:histogram_bucket{le="8"}': 1,
      'mem:histogram_bucket{le="20"}': 2,
      'mem:histogram_bucket{le="+Inf"}': 3,
      'mem:histogram_sum{}': 45,
      'mem:histogram_count{}': 3,
      'req_total{job="job1",region="eu"}': 150,
      'req_total{job="job1",region="us"}': 7,
    });
  });

  it('rule gauges drop a deleted producer', () => {
    const agg = fleet([{ match: 'mem', by: ['region'], outputs: ['sum', 'count'] }]);
    agg.apply(batch({ producer: 'p2', grouping: { instance: 'h2' }, op: 'delete' }), 1500);
    const out = byId(agg.collect(1500));
    expect(out['mem:by_region_sum{region="eu"}']).toBe(10);
    expect(out['mem:by_region_count{region="eu"}']).toBe(1);
  });

  it('rejects bad rules with the field named', () => {
    const bad = (rule: unknown) => () => new PartitionAggregate(options({ rules: [rule as AggregationRule] }));
    expect(bad({ match: 'x', outputs: ['median'] })).toThrow(/rules\[0\]\.outputs\[0\]: unknown output "median"/);
    expect(bad({ match: 'x', outputs: [] })).toThrow(/rules\[0\]\.outputs/);
    expect(bad({ match: 'x', by: ['a'], without: ['b'], outputs: ['sum'] })).toThrow(/exclusive/);
    expect(bad({ match: 'x', by: ['0bad'], outputs: ['sum'] })).toThrow(/rules\[0\]\.by\[0\]/);
    expect(bad({ match: 'x{a=b}', outputs: ['sum'] })).toThrow(AggregateError);
    expect(bad({ match: 'x', outputs: ['histogram'], buckets: [2, 1] })).toThrow(/buckets\[1\]/);
    expect(() => new PartitionAggregate(options({ seriesTtlMs: 0 }))).toThrow(/seriesTtlMs/);
  });
});

describe('SeriesSelector', () => {
  it('parses names, matchers, quotes and escapes', () => {
    const s = new SeriesSelector('http_requests_total{env="prod", code=~"5..", path!~`/debug.*`, q!="a\\"b"}');
    expect(s.matchers).toEqual([
      { name: '__name__', op: '=', value: 'http_requests_total' },
      { name: 'env', op: '=', value: 'prod' },
      { name: 'code', op: '=~', value: '5..' },
      { name: 'path', op: '!~', value: '/debug.*' },
      { name: 'q', op: '!=', value: 'a"b' },
    ]);
    const labels = { __name__: 'http_requests_total', env: 'prod', code: '503', path: '/api' };
    expect(s.matches(labels, labels.__name__)).toBe(true);
    expect(s.matches({ ...labels, code: '5030' }, labels.__name__)).toBe(false); // anchored
    expect(s.matches({ ...labels, path: '/debug/x' }, labels.__name__)).toBe(false);
  });

  it('a missing label matches an empty value', () => {
    expect(new SeriesSelector('{region=""}').matches({ __name__: 'x' }, 'x')).toBe(true);
    expect(new SeriesSelector('{region!=""}').matches({ __name__: 'x' }, 'x')).toBe(false);
  });

  it('names the column of a syntax error', () => {
    expect(() => new SeriesSelector('x{a="b" c="d"}')).toThrow(/expected , or \} at column 9/);
    expect(() => new SeriesSelector('{a="b')).toThrow(/unterminated string/);
    expect(() => new SeriesSelector('')).toThrow(/empty selector/);
    expect(() => new SeriesSelector('{a=~"("}')).toThrow(/invalid regex/);
  });
});
