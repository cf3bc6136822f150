// An output series keeps no more than it needs (series.ts newOutput): a total whose labels carry its job as `job` keeps
// no job field (8 B a series); one whose labels do not (a rule's that drops or sets the label), a gauge mode's and a
// native histogram's keep theirs. The job each reports is what `maxSeriesPerJob` counts and the checkpoint writes: a
// wrong one would count a series against another job and restore it under it.
import { describe, expect, it } from 'vitest';
import { newGaugeState } from '../../src/aggregate/outputs.js';
import { JobOutputSeries, NativeOutputSeries, OutputSeries, newOutput } from '../../src/aggregate/series.js';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, counter, options } from './fixtures.js';

describe('newOutput', () => {
  it('keeps a job field only where the labels do not carry the job', () => {
    const plain = newOutput({ __name__: 'a_total', job: 'j1' }, 'total', 'j1', 0, null);
    expect(plain.constructor).toBe(OutputSeries);
    expect([plain.job, plain.gauge]).toEqual(['j1', null]);
    const ruled = newOutput({ __name__: 'a_total' }, 'total', 'j2', 0, null);
    expect(ruled).toBeInstanceOf(JobOutputSeries);
    expect([ruled.job, ruled.gauge]).toEqual(['j2', null]);
    const other = newOutput({ __name__: 'a_total', job: 'all' }, 'total', 'j3', 0, null);
    expect(other.job).toBe('j3');
    const labels = { __name__: 'g', job: 'j4' };
    const gauge = newGaugeState('last', labels, null);
    const g = newOutput(labels, 'last', 'j4', 0, gauge);
    expect([g.job, g.gauge]).toEqual(['j4', gauge]);
    const native = newOutput({ __name__: 'h', job: 'j5' }, 'native', 'j5', 0, null);
    expect(native).toBeInstanceOf(NativeOutputSeries);
    expect(native.job).toBe('j5');
  });

  it("a rule's output without the job label is counted against the job that made it, through a restore", () => {
    const opts = options({
      rules: [{ match: 'rows_total', by: ['status'], outputs: ['total'] }],
      limits: { maxSeries: 100, maxSeriesPerJob: 1, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 },
    });
    const agg = new PartitionAggregate(opts);
    agg.apply(batch({ producer: 'p1', job: 'etl', points: [counter('rows_total', 5, { shard: 'a', status: 'ok' })] }), 1000);
    // (the rule's output has no job label: `by` keeps status alone)
    expect(agg.collect(1500).map((x) => x.labels)).toEqual([{ __name__: 'rows_total:by_status_total', status: 'ok' }]);
    const again = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), opts);
    for (const a of [agg, again]) {
      const state = a.toState();
      expect(state.outputs.job.map((v) => (v < 0 ? v : state.strings[v]))).toContain('etl');
      // the job's one series is taken: a second output of the same job is refused, another job's is not
      const refused = a.apply(batch({ producer: 'p2', job: 'etl', points: [counter('other_total', 1)] }), 2000);
      expect(refused.limitHits['maxSeriesPerJob']).toBe(1);
      const taken = a.apply(batch({ producer: 'p3', job: 'web', points: [counter('other_total', 1)] }), 2000);
      expect(taken.limitHits['maxSeriesPerJob'] ?? 0).toBe(0);
    }
  });
});
