// The owner's combination of partials: exact, idempotent, never backwards, the same after a checkpoint round trip.
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import type { CombineMode } from '../../src/model.js';
import { SeriesCombiner, decodePartials, encodePartials, labelsFromKey, ownerPartition, type PartialSeries } from '../../src/repartition/index.js';

const KEY = labelsKey({ __name__: 'rows_total', job: 'x' });
const opts = { ttlMs: 60_000 };

function p(combine: CombineMode, value: number, extra: Partial<PartialSeries> = {}): PartialSeries {
  return { key: KEY, combine, value, stale: false, ...extra };
}

function apply(c: SeriesCombiner, source: string, offset: number, ...series: PartialSeries[]) {
  return c.apply({ kind: 'partials', source, offset, series }, 1000);
}

const value = (c: SeriesCombiner) => c.collect(2000).map((s) => (s.stale ? 'stale' : s.value));

describe('SeriesCombiner', () => {
  it('sums the running totals of several source partitions and ignores an older word from a source', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 5, p('total', 120));
    apply(c, 't/3', 9, p('total', 30));
    expect(value(c)).toEqual([150]);
    expect(c.multiSourceCount).toBe(1);
    // A replay (or a relay that lost the partition) says less at an older offset: ignored.
    expect(apply(c, 't/0', 4, p('total', 100)).outdated).toBe(1);
    // The same word twice changes nothing.
    apply(c, 't/3', 9, p('total', 30));
    expect(value(c)).toEqual([150]);
  });

  it('keeps what an ended source counted; a restart counts from zero only at a newer offset', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 5, p('total', 100));
    apply(c, 't/1', 5, p('total', 7));
    apply(c, 't/0', 6, p('total', NaN, { stale: true }));
    expect(value(c)).toEqual([107]);
    // The pre-expiry value again at the offset it ended at: a replay, not a restart.
    apply(c, 't/0', 6, p('total', 100));
    expect(value(c)).toEqual([107]);
    apply(c, 't/0', 8, p('total', 3));
    expect(value(c)).toEqual([110]);
  });

  it('reads a total that went down at a newer offset as a reset of that source: the output never goes backwards', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 5, p('total', 100));
    const r = apply(c, 't/0', 9, p('total', 4));
    expect(r.resets).toBe(1);
    expect(value(c)).toEqual([104]);
  });

  it('ends a series once every source ended, and only then', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 1, p('total', 2));
    apply(c, 't/1', 1, p('total', 3));
    apply(c, 't/0', 2, p('total', NaN, { stale: true }));
    expect(value(c)).toEqual([5]);
    apply(c, 't/1', 2, p('total', NaN, { stale: true }));
    expect(value(c)).toEqual(['stale']);
    expect(c.seriesCount).toBe(0);
  });

  it('combines gauges by when the value was applied, and rule outputs by their parts', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 1, p('last', 1, { at: 500 }), p('min', 4, { key: 'm="1",' }), p('max', 4, { key: 'm="2",' }), p('avg', 2, { key: 'm="3",', sum: 6, count: 3 }), p('sum', 6, { key: 'm="4",' }));
    apply(c, 't/1', 1, p('last', 2, { at: 400 }), p('min', 1, { key: 'm="1",' }), p('max', 9, { key: 'm="2",' }), p('avg', 10, { key: 'm="3",', sum: 10, count: 1 }), p('sum', 1, { key: 'm="4",' }));
    const got = Object.fromEntries(c.collect(2000).map((s) => [labelsKey(s.labels), s.value]));
    expect(got).toEqual({ [KEY]: 1, 'm="1",': 1, 'm="2",': 9, 'm="3",': 4, 'm="4",': 7 });
    // A gauge source that ends drops out: the other's value shows.
    apply(c, 't/0', 2, p('last', NaN, { stale: true }));
    expect(c.collect(2000).find((s) => s.labels['__name__'] === 'rows_total')?.value).toBe(2);
  });

  it('a counter and a gauge of the same name do not mix: the second is counted as a conflict', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 1, p('total', 5));
    expect(apply(c, 't/1', 1, p('last', 99, { at: 1 })).conflicts).toBe(1);
    expect(value(c)).toEqual([5]);
  });

  it('the first source of a series leaving keeps the others: every gauge mode, through a state round trip', () => {
    // An owner keeps a series' first source in the series itself and the others beside it: the first leaving (stale or
    // silent past the TTL) must hand its place to the next one, not lose or duplicate it.
    for (const [combine, extra, after] of [
      ['sum', {}, 5 + 7],
      ['min', {}, 5],
      ['max', {}, 7],
      ['avg', { count: 1 }, (5 + 7) / 2],
      ['last', {}, 7],
    ] as const) {
      const c = new SeriesCombiner(opts);
      const word = (v: number, at: number) => p(combine, v, { ...extra, ...(combine === 'avg' ? { sum: v } : {}), at });
      apply(c, 't/0', 1, word(100, 10));
      apply(c, 't/1', 1, word(5, 20));
      apply(c, 't/2', 1, word(7, 30));
      apply(c, 't/0', 2, p(combine, NaN, { stale: true }));
      expect(value(c), combine).toEqual([after]);
      const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), opts);
      expect(value(restored), combine).toEqual([after]);
      // The source that took the first place leaves too: one is left, then none (the series ends once).
      apply(restored, 't/1', 2, p(combine, NaN, { stale: true }));
      expect(value(restored), combine).toEqual([7]);
      apply(restored, 't/2', 2, p(combine, NaN, { stale: true }));
      expect(value(restored), combine).toEqual(['stale']);
      expect(restored.seriesCount).toBe(0);
    }
    // A total: the first source silent past the TTL keeps what it counted, the next ones go on adding.
    const c = new SeriesCombiner(opts);
    c.apply({ kind: 'partials', source: 't/0', offset: 1, series: [p('total', 100)] }, 1000);
    c.apply({ kind: 'partials', source: 't/1', offset: 1, series: [p('total', 5)] }, 50_000);
    c.apply({ kind: 'partials', source: 't/2', offset: 1, series: [p('total', 7)] }, 50_000);
    expect(c.collect(62_000).map((s) => s.value)).toEqual([112]);
    c.apply({ kind: 'partials', source: 't/1', offset: 2, series: [p('total', 6)] }, 62_000);
    expect(c.collect(63_000).map((s) => s.value)).toEqual([113]);
  });

  it('drops a source silent past the TTL, keeping what it counted', () => {
    const c = new SeriesCombiner({ ttlMs: 100 });
    c.apply({ kind: 'partials', source: 't/0', offset: 1, series: [p('total', 5)] }, 1000);
    c.apply({ kind: 'partials', source: 't/1', offset: 1, series: [p('total', 2)] }, 1150);
    expect(c.collect(1160).map((s) => s.value)).toEqual([7]);
    c.apply({ kind: 'partials', source: 't/1', offset: 2, series: [p('total', 4)] }, 1300);
    expect(c.collect(1300).map((s) => s.value)).toEqual([9]);
  });

  it('restores from its state to exactly the same future', () => {
    const c = new SeriesCombiner(opts);
    apply(c, 't/0', 5, p('total', 100));
    apply(c, 't/1', 5, p('total', 7));
    apply(c, 't/0', 6, p('total', NaN, { stale: true }));
    apply(c, 't/2', 3, p('avg', 2, { key: 'a="+Inf",', sum: Infinity, count: 1 }));
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), opts);
    for (const x of [c, restored]) {
      apply(x, 't/0', 6, p('total', 100));
      apply(x, 't/0', 7, p('total', 1));
    }
    expect(restored.collect(2000)).toEqual(c.collect(2000));
    expect(value(restored)[0]).toBe(108);
  });
});

describe('partials on the wire', () => {
  it('round-trip every mode, non-finite numbers and stale markers', async () => {
    const series: PartialSeries[] = [
      p('total', 1.5),
      p('last', -Infinity, { at: 1234 }),
      p('avg', NaN, { sum: Infinity, count: 2 }),
      p('max', 3, { stale: true }),
    ];
    const batch = decodePartials(await encodePartials({ source: 'metrics/4', offset: 77, series }));
    expect(batch.source).toBe('metrics/4');
    expect(batch.offset).toBe(77);
    expect(batch.series[0]).toEqual({ key: KEY, combine: 'total', value: 1.5, stale: false });
    expect(batch.series[1]).toEqual({ key: KEY, combine: 'last', value: -Infinity, stale: false, at: 1234 });
    expect(batch.series[2]!.sum).toBe(Infinity);
    expect(batch.series[2]!.count).toBe(2);
    expect(Number.isNaN(batch.series[2]!.value)).toBe(true);
    expect(batch.series[3]!.stale).toBe(true);
  });

  it('labelsFromKey inverts labelsKey, whatever the values hold', () => {
    const labels = { __name__: 'x_total', a: 'quote " and \\ back', b: 'a=b,c="d",', c: 'ünï 🙂', d: '\u0000\n' };
    expect(labelsFromKey(labelsKey(labels))).toEqual(labels);
    expect(Object.keys(labelsFromKey(labelsKey(labels)))).toEqual(Object.keys(labels).sort());
  });

  it('puts every part of one histogram on one owner, and spreads series over the partitions', () => {
    const owner = (name: string, le?: string) => ownerPartition({ __name__: name, job: 'j', ...(le ? { le } : {}), route: '/a' }, 12);
    const parts = [owner('lat_bucket', '0.1'), owner('lat_bucket', '+Inf'), owner('lat_sum'), owner('lat_count'), owner('lat')];
    expect(new Set(parts).size).toBe(1);
    const spread = new Set(Array.from({ length: 200 }, (_, i) => ownerPartition({ __name__: `m${i}`, job: 'j' }, 12)));
    expect(spread.size).toBe(12);
  });
});


describe('start timestamps', () => {
  it('a combined counter starts when its first partial arrived, through a checkpoint; gauges carry none', () => {
    const c = new SeriesCombiner(opts);
    c.apply({ kind: 'partials', source: 't/0', offset: 1, series: [p('total', 5), p('last', 1, { key: 'g="1",', at: 10 })] }, 1000);
    c.apply({ kind: 'partials', source: 't/1', offset: 1, series: [p('total', 2)] }, 1500);
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), opts);
    for (const x of [c, restored]) {
      const out = x.collect(2000);
      expect(out.find((s) => s.labels['__name__'] === 'rows_total')).toMatchObject({ value: 7, start: 1000 });
      expect(out.find((s) => s.labels['g'] === '1')?.start).toBeUndefined();
    }
  });
});

describe('SeriesCombiner memory: what one relay holds once', () => {
  it('shares the key string and labels of a series its own source aggregate holds; parses the others', () => {
    const labels = { __name__: 'rows_total', job: 'x' };
    const held = { key: KEY, labels };
    const c = new SeriesCombiner({ ...opts, shared: (id) => (id === KEY ? held : undefined) });
    const other = labelsKey({ __name__: 'rows_total', job: 'y' });
    apply(c, 't/0', 1, p('total', 5), { key: other, combine: 'total', value: 7, stale: false });
    const out = c.collect(2000);
    expect(out.find((s) => s.labels['job'] === 'x')!.labels).toBe(labels);
    expect(out.find((s) => s.labels['job'] === 'y')!.labels).toEqual({ __name__: 'rows_total', job: 'y' });
    expect(out.map((s) => s.value)).toEqual([5, 7]);
  });

  it('labelsFromKey gives back the labels, own properties only, for any label value', () => {
    const labels = { __name__: 'a', __proto__x: '"quoted",\\ and , commas=', empty: '', zz: 'ünïcödé' };
    expect(labelsFromKey(labelsKey(labels))).toEqual(labels);
    const proto = labelsFromKey(labelsKey(JSON.parse('{"__name__":"b","__proto__":"v"}') as Record<string, string>));
    expect(Object.keys(proto)).toEqual(['__name__', '__proto__']);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });
});
