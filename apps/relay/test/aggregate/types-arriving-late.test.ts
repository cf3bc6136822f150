// A series' type may arrive after its first samples (a Remote Write 1.0 sender sends metadata apart, every minute by
// default): read as a gauge meanwhile, it starts again as what it is. One name pushed as counter and as gauge under
// one job is refused and counted, never mixed into one output.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { SeriesCombiner, labelsFromKey, toPartial } from '../../src/repartition/index.js';
import { labelsKey } from '../../src/aggregate/index.js';
import { batch, counter, options, point } from './fixtures.js';

const untyped = (name: string, value: number) => point(name, 'untyped', value);
const view = (samples: ReturnType<PartitionAggregate['collect']>) => samples.map((s) => [s.labels['__name__'], s.stale ? 'stale' : s.value, s.combine]);

describe('types that arrive late', () => {
  it('two senders untyped until their metadata, then counters: the total is the sum of their cumulative values', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [untyped('rows_total', 30)] }), 1000);
    agg.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [untyped('rows_total', 10)] }), 1000);
    expect(view(agg.collect(1500))).toEqual([['rows_total', 10, 'last']]);
    // Metadata arrived: the next samples are typed.
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [counter('rows_total', 32)] }), 2000);
    agg.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [counter('rows_total', 10)] }), 2000);
    // The gauge ends (one stale sample), the total takes its name: both senders' cumulative values, counted once.
    expect(view(agg.collect(2500))).toEqual([
      ['rows_total', 'stale', 'last'],
      ['rows_total', 42, 'total'],
    ]);
    // An untyped sample of a typed series (an ingest worker without the metadata yet) is read as a counter.
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [untyped('rows_total', 35)] }), 3000);
    expect(view(agg.collect(3500))).toEqual([['rows_total', 45, 'total']]);
  });

  it('a counter and a gauge of one name under one job: the second kind is refused and counted, the first kept', () => {
    const agg = new PartitionAggregate(options());
    // The instance in the series' own labels (as Remote Write bodies carry it): two input series, one output name.
    agg.apply(batch({ producer: 'a', points: [counter('x', 5, { instance: 'a' })] }), 1000);
    const r = agg.apply(batch({ producer: 'b', points: [point('x', 'gauge', 7, { instance: 'b' })] }), 1000);
    expect(r).toMatchObject({ accepted: 0, rejected: 1, typeConflicts: 1 });
    agg.apply(batch({ producer: 'a', points: [counter('x', 9, { instance: 'a' })] }), 2000);
    expect(view(agg.collect(2500))).toEqual([['x', 9, 'total']]);
  });

  it("the owner lets the total take the name of the gauge whose sources all left", () => {
    const agg = new PartitionAggregate(options());
    const owner = new SeriesCombiner({ ttlMs: 60_000 });
    const publish = (now: number, offset: number) => {
      const series = agg.collect(now).map((s) => toPartial(s, s.key ?? labelsKey(s.labels)));
      return owner.apply({ kind: 'partials', source: 'metrics/0', offset, series }, now);
    };
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [untyped('rows_total', 30)] }), 1000);
    publish(1500, 1);
    agg.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [counter('rows_total', 31)] }), 2000);
    expect(publish(2500, 2)).toMatchObject({ conflicts: 0 });
    expect(owner.collect(3000).map((s) => [labelsFromKey(labelsKey(s.labels))['__name__'], s.value])).toEqual([['rows_total', 31]]);
  });
});
