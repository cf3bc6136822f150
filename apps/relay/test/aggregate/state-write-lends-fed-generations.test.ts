// While a state is written, each output's row in it takes the place of the output's `fedGen` (OutputSeries.stateRow:
// no field of its own), which the writer keeps aside and gives back. A `fedGen` not given back would make a publish
// (`collect` with `onlyFed`) send the wrong series after a checkpoint: drop one fed since the last publish, or send one
// that was not.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate, type AggregationRule } from '../../src/aggregate/index.js';
import { batch, counter, options } from './fixtures.js';

const RULES: AggregationRule[] = [{ match: 'rows_total', by: ['status'], outputs: ['total'] }];

function build(rules: AggregationRule[] = []) {
  const agg = new PartitionAggregate(options({ rules }));
  for (let p = 0; p < 40; p++) {
    const points = Array.from({ length: 5 }, (_, s) => counter('rows_total', p + s + 1, { table: `t${p % 8}`, shard: `s${s}`, status: s % 2 === 0 ? 'ok' : 'failed' }));
    agg.apply(batch({ producer: `p${p}`, job: `job${p % 3}`, points }), 1000);
  }
  agg.collect(1500, { onlyFed: true });
  // After the publish, a few producers push again: only their series are fed since.
  for (const p of [3, 17, 30]) {
    const points = Array.from({ length: 5 }, (_, s) => counter('rows_total', p + s + 10, { table: `t${p % 8}`, shard: `s${s}`, status: s % 2 === 0 ? 'ok' : 'failed' }));
    agg.apply(batch({ producer: `p${p}`, job: `job${p % 3}`, points }), 2000);
  }
  return agg;
}

const published = (agg: PartitionAggregate) =>
  agg
    .collect(2500, { onlyFed: true })
    .map((x) => JSON.stringify([x.labels, x.value]))
    .sort();

describe('writeState', () => {
  it('leaves what a publish sends as it was: the same series fed since the last publish, with or without a state written between', () => {
    const plain = published(build());
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.length).toBeLessThan(40 * 5);
    const agg = build();
    agg.toState();
    expect(agg.seriesCount).toBeGreaterThan(plain.length);
    expect(published(agg)).toEqual(plain);
  });

  it('numbers outputs as rows the inputs refer to: a state written twice is the same, and restores to the same totals', () => {
    for (const rules of [[], RULES]) {
      const agg = build(rules);
      const once = JSON.stringify(agg.toState());
      expect(JSON.stringify(agg.toState())).toBe(once);
      const again = PartitionAggregate.fromState(JSON.parse(once), options({ rules }));
      const totals = (a: PartitionAggregate) =>
        a
          .collect(3000)
          .map((x) => JSON.stringify([x.labels, x.value]))
          .sort();
      expect(totals(again)).toEqual(totals(agg));
      expect(totals(agg).length).toBeGreaterThan(0);
    }
  });
});
