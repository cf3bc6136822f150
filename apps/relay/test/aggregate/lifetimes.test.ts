// Lifetimes of output series: totals kept for counterTtlMs (the gap between the runs of an hourly or daily job),
// gauges for seriesTtlMs; a whole-job delete (no grouping labels) ends a job's default outputs, counters included.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, byId, counter, gauge, histogram, options, point } from './fixtures.js';

const MIN = 60_000;

describe('counterTtlMs: totals outlive the gap between runs', () => {
  it('counters, histogram parts and summary _sum/_count stay (and are flushed) past seriesTtlMs; gauges and quantiles end', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, counterTtlMs: 60 * MIN }));
    agg.apply(
      batch({
        producer: 'run-1',
        points: [
          counter('backups_total', 12),
          gauge('last_size_bytes', 300),
          ...histogram('dur_seconds', { '1': 1, '+Inf': 2 }, 3.5, 2),
          point('rpc_seconds', 'summary', 0.2, { quantile: '0.5' }, 'rpc_seconds'),
          point('rpc_seconds_sum', 'summary', 4, {}, 'rpc_seconds'),
          point('rpc_seconds_count', 'summary', 2, {}, 'rpc_seconds'),
        ],
      }),
      0,
    );
    const at10 = byId(agg.collect(10 * MIN));
    expect(at10).toEqual({
      'backups_total{job="job1"}': 12,
      'last_size_bytes{job="job1"}': 'stale',
      'dur_seconds_bucket{job="job1",le="1"}': 1,
      'dur_seconds_bucket{job="job1",le="+Inf"}': 2,
      'dur_seconds_sum{job="job1"}': 3.5,
      'dur_seconds_count{job="job1"}': 2,
      'rpc_seconds{job="job1",producer="run-1",quantile="0.5"}': 'stale',
      'rpc_seconds_sum{job="job1"}': 4,
      'rpc_seconds_count{job="job1"}': 2,
    });
    // A new run 50 minutes later (a new producer: its first value is all increase) continues the totals.
    agg.apply(batch({ producer: 'run-2', points: [counter('backups_total', 3)] }), 50 * MIN);
    expect(byId(agg.collect(55 * MIN))['backups_total{job="job1"}']).toBe(15);
    // Not fed for counterTtlMs: one stale sample, then gone.
    const at61 = byId(agg.collect(61 * MIN));
    expect(at61['backups_total{job="job1"}']).toBe(15);
    expect(at61['dur_seconds_count{job="job1"}']).toBe('stale');
    expect(byId(agg.collect(111 * MIN))).toEqual({ 'backups_total{job="job1"}': 'stale' });
    expect(agg.collect(112 * MIN)).toEqual([]);
    expect(agg.seriesCount).toBe(0);
  });

  it('defaults to seriesTtlMs when not given', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN }));
    agg.apply(batch({ producer: 'p', points: [counter('c_total', 1)] }), 0);
    expect(byId(agg.collect(5 * MIN))).toEqual({ 'c_total{job="job1"}': 'stale' });
  });

  it('refuses a counterTtlMs that is not a positive number, naming it', () => {
    expect(() => new PartitionAggregate(options({ counterTtlMs: 0 }))).toThrow(/counterTtlMs/);
  });

  it('a rule total is a total (counterTtlMs), a rule sum a gauge (seriesTtlMs)', () => {
    const agg = new PartitionAggregate(
      options({ seriesTtlMs: 5 * MIN, counterTtlMs: 60 * MIN, rules: [{ match: '{__name__=~"rows_total|depth"}', by: ['table'], outputs: ['total', 'sum'] }] }),
    );
    agg.apply(batch({ producer: 'p', points: [counter('rows_total', 7, { table: 't' }), gauge('depth', 2, { table: 't' })] }), 0);
    expect(byId(agg.collect(10 * MIN))).toEqual({
      'rows_total:by_table_total{table="t"}': 7,
      'rows_total:by_table_sum{table="t"}': 'stale',
      // `total` over a gauge is a total all the same
      'depth:by_table_total{table="t"}': 2,
      'depth:by_table_sum{table="t"}': 'stale',
    });
  });
});

describe('whole-job delete (no grouping labels)', () => {
  const rules = [{ match: 'rows_total', by: ['table'], outputs: ['total' as const], keepInput: true }, { match: 'depth', outputs: ['sum' as const] }];

  function fed(): PartitionAggregate {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 5 * MIN, counterTtlMs: 60 * MIN, rules }));
    for (const [job, instance, rows, depth] of [['etl', 'a', 10, 1], ['etl', 'b', 5, 2], ['other', 'a', 100, 4]] as const) {
      agg.apply(
        batch({
          producer: `${job}-${instance}`,
          job,
          grouping: { instance },
          points: [counter('rows_total', rows, { table: 't' }), gauge('depth', depth), gauge('up', 1), ...histogram('dur_seconds', { '+Inf': 1 }, 1, 1)],
        }),
        1000,
      );
    }
    return agg;
  }

  it("ends every default output of the job, counters included, once; other jobs' outputs and rule outputs stay", () => {
    const agg = fed();
    const before = byId(agg.collect(2000));
    expect(before['rows_total{job="etl",table="t"}']).toBe(15);
    expect(before['rows_total:by_table_total{table="t"}']).toBe(115);
    expect(before['depth:sum{}']).toBe(7);
    const result = agg.apply(batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }), 3000);
    expect(result.duplicate).toBe(false);
    expect(byId(agg.collect(3000))).toEqual({
      'rows_total{job="etl",table="t"}': 'stale',
      'up{job="etl"}': 'stale',
      'dur_seconds_bucket{job="etl",le="+Inf"}': 'stale',
      'dur_seconds_sum{job="etl"}': 'stale',
      'dur_seconds_count{job="etl"}': 'stale',
      'rows_total{job="other",table="t"}': 100,
      'up{job="other"}': 1,
      'dur_seconds_bucket{job="other",le="+Inf"}': 1,
      'dur_seconds_sum{job="other"}': 1,
      'dur_seconds_count{job="other"}': 1,
      // A rule output across jobs is not ended; its gauge sum loses the ended job's contributions.
      'rows_total:by_table_total{table="t"}': 115,
      'depth:sum{}': 4,
    });
    // Ended once: gone afterwards.
    expect(Object.keys(byId(agg.collect(4000))).filter((k) => k.includes('job="etl"'))).toEqual([]);
  });

  it('a producer going on after the end counts only what it adds; a new run counts from zero', () => {
    const agg = fed();
    agg.apply(batch({ producer: 'x', job: 'etl', op: 'delete' }), 3000);
    agg.collect(3000);
    agg.apply(batch({ producer: 'etl-a', job: 'etl', grouping: { instance: 'a' }, points: [counter('rows_total', 13, { table: 't' })] }), 4000);
    agg.apply(batch({ producer: 'etl-c', job: 'etl', grouping: { instance: 'c' }, points: [counter('rows_total', 2, { table: 't' })] }), 4000);
    const after = byId(agg.collect(5000));
    expect(after['rows_total{job="etl",table="t"}']).toBe(5);
    expect(after['rows_total:by_table_total{table="t"}']).toBe(120);
  });

  it('creates no producer state where the job never pushed, and a group delete still ends only that group', () => {
    const agg = fed();
    const producers = agg.producerCount;
    agg.apply(batch({ producer: 'pushgateway/job=nobody', job: 'nobody', op: 'delete' }), 3000);
    expect(agg.producerCount).toBe(producers);
    agg.apply(batch({ producer: 'etl-b', job: 'etl', grouping: { instance: 'b' }, op: 'delete' }), 3000);
    const out = byId(agg.collect(3000));
    expect(out['rows_total{job="etl",table="t"}']).toBe(15);
    expect(out['up{job="etl"}']).toBe(1);
  });

  it('rule outputs are still told apart after a restore from the checkpoint (and from a state written before the mark)', () => {
    const opts = options({ seriesTtlMs: 5 * MIN, counterTtlMs: 60 * MIN, rules });
    const state = JSON.parse(JSON.stringify(fed().toState()));
    const restored = PartitionAggregate.fromState(state, opts);
    restored.apply(batch({ producer: 'x', job: 'other', op: 'delete' }), 3000);
    let out = byId(restored.collect(3000));
    expect(out['rows_total{job="other",table="t"}']).toBe('stale');
    expect(out['rows_total:by_table_total{table="t"}']).toBe(115);
    // fed() as a relay wrote it before outputs were marked (version 2 without `rule`, written by writeState as of
    // c6afa5c with the field taken out)
    const unmarked = JSON.parse(readFileSync(new URL('./fixtures/aggregate-state-v2-unmarked.json', import.meta.url), 'utf8')) as unknown;
    const old = PartitionAggregate.fromState(unmarked, opts);
    old.apply(batch({ producer: 'x', job: 'other', op: 'delete' }), 3000);
    out = byId(old.collect(3000));
    expect(out['rows_total{job="other",table="t"}']).toBe('stale');
    expect(out['rows_total:by_table_total{table="t"}']).toBe(115);
  });
});
