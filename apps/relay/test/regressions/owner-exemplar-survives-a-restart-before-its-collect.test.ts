// An owner sends the exemplar it holds for an output series once, with a later sample of that series. Series that
// hold one are marked (Combined.freshExemplar), so that a collect builds the id of those series only (an owner keeps no
// key string per series). A restart replaces the series object under its id before the collect: the mark must go with
// it, or the held exemplar is never sent (as it was before the mark, when every series was looked up by id).
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import { SeriesCombiner, type PartialSeries } from '../../src/repartition/index.js';

const KEY = labelsKey({ __name__: 'rows_total', job: 'x' });
const p = (value: number, extra: Partial<PartialSeries> = {}): PartialSeries => ({ key: KEY, combine: 'total', value, stale: false, ...extra });
const exemplar = { labels: { trace_id: 'abc' }, value: 1, timestamp: 900 };

describe('an owner', () => {
  it('sends an exemplar held when a restart replaced its series before the collect, once', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10)] }, 1000);
    expect(c.collect(1100)).toHaveLength(1);
    c.apply({ kind: 'partials', source: 'in/0', offset: 7, series: [p(12, { exemplar })] }, 1200);
    c.apply({ kind: 'partials', source: 'in/0', offset: 9, series: [p(4, { restart: 9 })] }, 1300);
    const sent = [...c.collect(1400), ...c.collect(1500), ...c.collect(1600)].filter((s) => s.exemplar !== undefined);
    expect(sent.map((s) => s.exemplar)).toEqual([exemplar]);
  });

  it('sends each exemplar of a series once, and none for series that never had one', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    const other = labelsKey({ __name__: 'rows_total', job: 'y' });
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10, { exemplar }), { ...p(3), key: other }] }, 1000);
    const first = c.collect(1100);
    expect(first.find((s) => s.labels['job'] === 'x')?.exemplar).toEqual(exemplar);
    expect(first.find((s) => s.labels['job'] === 'y')?.exemplar).toBeUndefined();
    c.apply({ kind: 'partials', source: 'in/0', offset: 6, series: [p(11)] }, 1200);
    expect(c.collect(1300).some((s) => s.exemplar !== undefined)).toBe(false);
  });
});
