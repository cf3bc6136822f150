// Exemplars through the relay's stages (README "Exemplars"): decode keeps the latest of a series within the limits,
// the aggregate hands each output series' latest on once, partials carry it, the owner keeps the newest and never
// sends one at or below the last it sent (Prometheus answers an older one with a 400), also after a restart.
import { encodeWriteRequest, encodeWriteRequestV2, type Exemplar, type WriteRequest } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate, labelsKey } from '../../src/aggregate/index.js';
import { emptyHistogram } from '../../src/aggregate/native-histogram.js';
import { decodeRemoteWrite } from '../../src/decode/remote-write.js';
import { EXEMPLAR_MAX_LABEL_CHARS, exemplarLabelChars, latestExemplar } from '../../src/exemplars.js';
import { SeriesCombiner, decodePartials, encodePartials, toPartial, type PartialSeries } from '../../src/repartition/index.js';
import { batch, options, point } from '../aggregate/fixtures.js';

const ex = (trace: string, value: number, timestamp?: number): Exemplar => ({ labels: { trace_id: trace }, value, ...(timestamp !== undefined ? { timestamp } : {}) });
/** Label names and values of exactly `n` characters together. */
const sized = (n: number, timestamp: number): Exemplar => ({ labels: { trace_id: 'x'.repeat(n - 'trace_id'.length) }, value: 1, timestamp });

describe('decode', () => {
  const req: WriteRequest = {
    timeseries: [
      {
        labels: { __name__: 'rows_total', table: 'users' },
        samples: [
          { value: 1, timestamp: 1000 },
          { value: 2, timestamp: 2000 },
        ],
        exemplars: [ex('b', 2, 1900), ex('c', 3, 1950), ex('a', 1, 1500), sized(EXEMPLAR_MAX_LABEL_CHARS + 1, 1999)],
      },
      { labels: { __name__: 'plain_total' }, samples: [{ value: 5, timestamp: 1000 }] },
      { labels: { __name__: 'untimed_total' }, samples: [{ value: 5, timestamp: 1000 }], exemplars: [ex('first', 1), ex('second', 2)] },
    ],
  };

  for (const version of [1, 2] as const) {
    it(`Remote Write ${version}.0: the latest exemplar within the limits rides on the series' last point; those over the limits are counted`, () => {
      const dropped = { exemplars: 0 };
      const body = version === 1 ? encodeWriteRequest(req) : encodeWriteRequestV2(req);
      const points = decodeRemoteWrite(body, version, 'j', {}, undefined, dropped);
      expect(points.map((p) => p.exemplar?.labels['trace_id'])).toEqual([undefined, 'c', undefined, 'second']);
      expect(points[1]!.exemplar).toEqual(ex('c', 3, 1950));
      expect(dropped.exemplars).toBe(1);
    });
  }

  it("exemplars sent alone (as Prometheus sends them) join the request's point of the same labels, or go on alone", () => {
    const alone: WriteRequest = {
      timeseries: [
        { labels: { __name__: 'rows_total', table: 'users' }, samples: [], exemplars: [ex('e1', 1, 900)] },
        { labels: { __name__: 'rows_total', table: 'users' }, samples: [{ value: 3, timestamp: 1000 }] },
        { labels: { __name__: 'rows_total', table: 'orders' }, samples: [], exemplars: [ex('e2', 2, 950)] },
      ],
    };
    const points = decodeRemoteWrite(encodeWriteRequestV2(alone), 2, 'j', {});
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ value: 3, exemplar: ex('e1', 1, 900) });
    expect(points[0]!.exemplarOnly).toBeUndefined();
    expect(points[1]).toMatchObject({ labels: { table: 'orders', job: 'j' }, exemplar: ex('e2', 2, 950), exemplarOnly: true });
  });

  it('drops an exemplar more than 10 minutes ahead of the clock (Prometheus refuses it)', () => {
    const now = 1_000_000_000;
    const ahead = ex('ahead', 1, now + 10 * 60_000 + 1);
    expect(latestExemplar([ex('ok', 1, now + 10 * 60_000), ahead], now)).toEqual({ latest: ex('ok', 1, now + 10 * 60_000), overLimit: 1 });
  });

  it('counts code points, not UTF-16 units: 128 characters pass, 129 do not', () => {
    const emoji = { labels: { t: '😀'.repeat(127) }, value: 0 };
    expect(exemplarLabelChars(emoji)).toBe(128);
    expect(latestExemplar([emoji]).latest).toBe(emoji);
    const over = { labels: { t: '😀'.repeat(128) }, value: 0 };
    expect(latestExemplar([over])).toEqual({ latest: undefined, overLimit: 1 });
    expect(latestExemplar([sized(128, 1)]).overLimit).toBe(0);
  });
});

describe('aggregate', () => {
  const name = 'rows_total';
  const withEx = (value: number, e?: Exemplar) => ({ ...point(name, 'counter', value), ...(e ? { exemplar: e } : {}) });

  it('hands the latest exemplar of an output series on once, with the collect after it came', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 1, points: [withEx(1, ex('a', 1, 100))] }), 1000);
    // Another producer feeding the same output series with an older exemplar: the newer one stays.
    agg.apply(batch({ producer: 'p2', seq: 1, points: [withEx(1, ex('old', 1, 50))] }), 1000);
    const fed = { onlyFed: true };
    let out = agg.collect(2000, fed);
    expect(out).toHaveLength(1);
    expect(out[0]!.value).toBe(2);
    expect(out[0]!.exemplar).toEqual(ex('a', 1, 100));
    // Not again: nothing new came.
    agg.apply(batch({ producer: 'p1', seq: 2, points: [withEx(3)] }), 3000);
    out = agg.collect(4000, fed);
    expect(out[0]!.value).toBe(4);
    expect(out[0]!.exemplar).toBeUndefined();
    // An exemplar older than the one held is not new.
    agg.apply(batch({ producer: 'p1', seq: 3, points: [withEx(4, ex('older', 1, 90))] }), 5000);
    expect(agg.collect(6000, fed)[0]!.exemplar).toBeUndefined();
    agg.apply(batch({ producer: 'p1', seq: 4, points: [withEx(5, ex('b', 2, 200))] }), 7000);
    expect(agg.collect(8000, fed)[0]!.exemplar).toEqual(ex('b', 2, 200));
    // A full collect (what a source does after a failed publish) repeats the previous collect's, and no older one.
    expect(agg.collect(9000)[0]!.exemplar).toEqual(ex('b', 2, 200));
    expect(agg.collect(10_000)[0]!.exemplar).toBeUndefined();
  });

  it('stamps an exemplar without a timestamp with the push it came with', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 1, points: [withEx(1, ex('untimed', 1))] }), 1234);
    expect(agg.collect(2000)[0]!.exemplar).toEqual(ex('untimed', 1, 1234));
  });

  it('gives every target of a point the exemplar (a rule output and the default one), and forgets it with the series', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 1000, counterTtlMs: 1000, rules: [{ match: name, by: [], outputs: ['total'], keepInput: true }] }));
    agg.apply(batch({ producer: 'p1', seq: 1, points: [withEx(1, ex('a', 1, 100))] }), 1000);
    const out = agg.collect(1500);
    expect(out.length).toBe(2);
    for (const s of out) expect(s.exemplar).toEqual(ex('a', 1, 100));
    // Expired (one stale sample, no exemplar) and fed again later: the exemplar held before is gone, a new one goes out.
    expect(agg.collect(5000).every((s) => s.stale === true && s.exemplar === undefined)).toBe(true);
    agg.apply(batch({ producer: 'p1', seq: 2, points: [withEx(2, ex('z', 1, 10))] }), 6000);
    expect(agg.collect(6500).map((s) => s.exemplar?.labels['trace_id'])).toEqual(['z', 'z']);
  });

  it('an exemplar alone goes to the outputs of its series when a sample fed it, else it is counted unmatched', () => {
    const agg = new PartitionAggregate(options());
    const alone = { ...point(name, 'counter', 0), exemplar: ex('alone', 1, 100), exemplarOnly: true as const };
    expect(agg.apply(batch({ producer: 'p1', seq: 1, points: [alone] }), 1000)).toMatchObject({ accepted: 0, exemplarsUnmatched: 1 });
    expect(agg.collect(1500)).toEqual([]);
    agg.apply(batch({ producer: 'p1', seq: 2, points: [withEx(5)] }), 2000);
    const r = agg.apply(batch({ producer: 'p1', seq: 3, points: [alone] }), 2500);
    expect(r).toMatchObject({ accepted: 0, rejected: 0, exemplarsUnmatched: 0 });
    const out = agg.collect(3000);
    // The value is the sample's alone: the exemplar's point fed nothing.
    expect(out).toEqual([expect.objectContaining({ value: 5, exemplar: ex('alone', 1, 100) })]);
    // A source publishes only the totals fed since its last flush: one an exemplar came to alone is one of them.
    expect(agg.collect(3500, { onlyFed: true })).toEqual([]);
    agg.apply(batch({ producer: 'p1', seq: 4, points: [{ ...alone, exemplar: ex('alone2', 1, 200) }] }), 4000);
    expect(agg.collect(4500, { onlyFed: true })).toEqual([expect.objectContaining({ value: 5, exemplar: ex('alone2', 1, 200) })]);
  });

  it('a replayed push (a duplicate sequence number) brings no exemplar', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 5, points: [withEx(1, ex('a', 1, 100))] }), 1000);
    agg.collect(2000);
    agg.apply(batch({ producer: 'p1', seq: 5, points: [withEx(1, ex('a2', 1, 300))] }), 3000);
    expect(agg.collect(4000, { onlyFed: true })).toEqual([]);
    expect(agg.collect(5000)[0]!.exemplar).toBeUndefined();
  });
});

describe('partials', () => {
  const key = labelsKey({ __name__: 'rows_total', job: 'x' });

  it('round trip: an exemplar at index 7 of every mode, rows without one as before', async () => {
    const series: PartialSeries[] = [
      { key, combine: 'total', value: 3, stale: false, exemplar: ex('t', 0.5, 123) },
      { key, combine: 'avg', value: 2, stale: false, sum: 4, count: 2, exemplar: { labels: {}, value: NaN } },
      { key, combine: 'last', value: 1, stale: false, at: 77, exemplar: ex('l', Infinity) },
      { key, combine: 'native', value: 0, stale: false, histogram: { ...emptyHistogram(), schema: 0 }, exemplar: ex('h', 2, 5) },
      { key, combine: 'sum', value: 9, stale: false },
    ];
    const encoded = await encodePartials({ source: 't/0', offset: 4, series });
    const decoded = decodePartials(encoded);
    expect(decoded.series.map((p) => p.exemplar)).toEqual([ex('t', 0.5, 123), { labels: {}, value: NaN }, ex('l', Infinity), ex('h', 2, 5), undefined]);
    expect(decoded.series[1]).toMatchObject({ sum: 4, count: 2 });
    expect(decoded.series[2]!.at).toBe(77);
    // What the rows look like on the wire: padded to index 7, a row without an exemplar unchanged.
    const { gunzipSync } = await import('node:zlib');
    const rows = (JSON.parse(gunzipSync(encoded).toString('utf8')) as { s: unknown[][] }).s;
    expect(rows[0]).toEqual(['t', key, 3, 0, 0, 0, 0, [{ trace_id: 't' }, 0.5, 123]]);
    expect(rows[4]).toEqual(['s', key, 9, 0]);
  });

  it('toPartial carries a sample exemplar, never one of a stale sample', () => {
    expect(toPartial({ labels: {}, value: 1, combine: 'total', exemplar: ex('a', 1, 2) }, key).exemplar).toEqual(ex('a', 1, 2));
    expect(toPartial({ labels: {}, value: NaN, stale: true, combine: 'total', exemplar: ex('a', 1, 2) }, key).exemplar).toBeUndefined();
  });
});

describe('owner (SeriesCombiner)', () => {
  const key = labelsKey({ __name__: 'rows_total', job: 'x' });
  const part = (value: number, exemplar?: Exemplar): PartialSeries => ({ key, combine: 'total', value, stale: false, ...(exemplar ? { exemplar } : {}) });
  const apply = (c: SeriesCombiner, source: string, offset: number, p: PartialSeries) => c.apply({ kind: 'partials', source, offset, series: [p] }, 1000);

  it('keeps the newest exemplar of the sources by timestamp and sends it once', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    apply(c, 't/0', 1, part(1, ex('a', 1, 100)));
    apply(c, 't/1', 1, part(2, ex('older', 1, 90)));
    let out = c.collect(2000);
    expect(out[0]!.value).toBe(3);
    expect(out[0]!.exemplar).toEqual(ex('a', 1, 100));
    expect(c.collect(3000)[0]!.exemplar).toBeUndefined();
    apply(c, 't/1', 2, part(3, ex('b', 1, 150)));
    out = c.collect(4000);
    expect(out[0]!.exemplar).toEqual(ex('b', 1, 150));
  });

  it('never sends one at or below the last it sent, also from a restored state; stamps one without a timestamp with the flush', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    apply(c, 't/0', 1, part(1, ex('a', 1, 5000)));
    expect(c.collect(6000)[0]!.exemplar).toEqual(ex('a', 1, 5000));
    // A restart: the exemplar itself is gone, the timestamp it was sent at is not.
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), { ttlMs: 60_000 });
    apply(restored, 't/1', 1, part(1, ex('older', 1, 4000)));
    apply(restored, 't/0', 1, part(1, ex('a', 1, 5000)));
    expect(restored.collect(7000)[0]!.exemplar).toBeUndefined();
    // Without a timestamp: stamped with the flush's, which lies after the last one sent.
    apply(restored, 't/0', 2, part(2, ex('untimed', 1)));
    expect(restored.collect(8000)[0]!.exemplar).toEqual(ex('untimed', 1, 8000));
    // One whose own timestamp is at or below that one sent: not sent.
    apply(restored, 't/0', 3, part(3, ex('late', 1, 7999)));
    expect(restored.collect(9000)[0]!.exemplar).toBeUndefined();
  });

  it('drops the exemplar with the series', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    apply(c, 't/0', 1, part(1, ex('a', 1, 100)));
    apply(c, 't/0', 2, { key, combine: 'total', value: NaN, stale: true });
    // The value the end came after was not written yet: it goes first, with its exemplar, then the staleness marker.
    expect(c.collect(2000)).toEqual([expect.objectContaining({ value: 1, exemplar: expect.objectContaining({ labels: { trace_id: 'a' } }) })]);
    expect(c.collect(2000)).toEqual([expect.objectContaining({ stale: true })]);
    expect(c.collect(2000)[0]).toBeUndefined();
    expect(c.toState().exemplarsSent).toBeUndefined();
    // A new series of the same name starts without the old exemplar.
    apply(c, 't/0', 3, part(5));
    expect(c.collect(3000)[0]!.exemplar).toBeUndefined();
  });
});
