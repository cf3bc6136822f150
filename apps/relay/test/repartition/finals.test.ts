// The final total a whole-job delete's end carries (PartialSeries.final): its place on the wire, which older owners do
// not read, and the owner's pending final sample in its checkpoint.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import { SeriesCombiner, decodePartials, encodePartials, type PartialBatch, type PartialSeries } from '../../src/repartition/index.js';

const KEY = labelsKey({ __name__: 'rows_total', job: 'x' });
const OPTS = { ttlMs: 60_000 };
const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
const rows = (buf: Buffer) => (JSON.parse(gunzipSync(buf).toString('utf8')) as { s: unknown[][] }).s;
const hist = (count: number): NativeHistogram => ({ schema: 0, zeroThreshold: 0, zeroCount: 0, count, sum: count, positive: new Map([[1, count]]), negative: new Map(), float: false });
const end = (extra: Partial<PartialSeries> = {}): PartialSeries => ({ key: KEY, combine: 'total', value: NaN, stale: true, ...extra });
const batch = (offset: number, series: PartialSeries[], source = 'in/0'): PartialBatch => ({ kind: 'partials', source, offset, series });
const shown = (c: SeriesCombiner, at: number) => c.collect(at).map((s) => (s.stale ? 'stale' : (s.histogram?.count ?? s.value)));

describe('finals on the wire', () => {
  it('an end keeps what older owners read (value 0, stale 1) and has its final total at 4; none: as before', async () => {
    const series: PartialSeries[] = [
      end({ final: { value: 16 } }),
      end({ combine: 'native', final: { value: 5, histogram: hist(5) } }),
      end({ final: { value: 16 }, restart: 41 }),
      end({ restart: 41 }),
      end(),
    ];
    const buf = await encodePartials({ source: 'in/0', offset: 41, series });
    const [total, native, named, namedNone, none] = rows(buf);
    expect(total).toEqual(['t', KEY, 0, 1, 16]);
    expect(native!.slice(0, 4)).toEqual(['h', KEY, 0, 1]);
    expect(native).toHaveLength(5);
    expect(named).toEqual(['t', KEY, 0, 1, 16, 0, 0, null, 41]);
    expect(namedNone).toEqual(['t', KEY, 0, 1, null, 0, 0, null, 41]);
    expect(none).toEqual(['t', KEY, 0, 1]);
    const back = decodePartials(buf).series;
    expect(back.map((p) => [p.stale, p.final?.value, p.restart])).toEqual([
      [true, 16, undefined],
      [true, 5, undefined],
      [true, 16, 41],
      [true, undefined, 41],
      [true, undefined, undefined],
    ]);
    expect(back[1]!.final!.histogram).toEqual(hist(5));
  });
});

describe('the owner and a final total', () => {
  it('an end with no final total (an older source) ends the series at the next collect, as before', () => {
    const c = new SeriesCombiner(OPTS);
    c.apply(batch(1, [{ key: KEY, combine: 'total', value: 11, stale: false }]), 1000);
    expect(shown(c, 1000)).toEqual([11]);
    c.apply(batch(2, [end()]), 1000);
    expect(shown(c, 2000)).toEqual(['stale']);
  });

  it('a final total no newer than what the source said is not written again', () => {
    const c = new SeriesCombiner(OPTS);
    c.apply(batch(1, [{ key: KEY, combine: 'total', value: 11, stale: false }]), 1000);
    expect(shown(c, 1000)).toEqual([11]);
    c.apply(batch(2, [end({ final: { value: 11 } })]), 1000);
    expect(shown(c, 2000)).toEqual(['stale']);
  });

  it('a pending final sample, its own or a replaced series\', is in the checkpoint', () => {
    const c = new SeriesCombiner(OPTS);
    const k2 = labelsKey({ __name__: 'rpc_seconds', job: 'x' });
    c.apply(batch(1, [{ key: KEY, combine: 'total', value: 11, stale: false }, { key: k2, combine: 'native', value: 3, stale: false, histogram: hist(3) }]), 1000);
    c.collect(1000);
    // rows_total ends at 16; rpc_seconds ends at 5 and restarts (alone: the old series' final goes first).
    c.apply(batch(2, [end({ final: { value: 16 } }), end({ key: k2, combine: 'native', final: { value: 5, histogram: hist(5) }, restart: 2 }), { key: k2, combine: 'native', value: 1, stale: false, histogram: hist(1), restart: 2 }]), 1500);
    const state = viaJson(c.toState()) as { series: { final?: unknown[]; unwritten?: unknown[] } };
    // The replaced series' final (rpc_seconds'); rows_total's final total is its value, not written yet (as is the
    // new rpc_seconds').
    expect(state.series.final).toHaveLength(5);
    expect(state.series.unwritten).toHaveLength(2);
    const restored = SeriesCombiner.fromState(state, OPTS);
    const expected = [
      [16, 5],
      ['stale', 1],
      [1],
    ];
    for (const [i, at] of [2000, 3000, 4000].entries()) {
      const a = c.collect(at);
      expect(restored.collect(at)).toEqual(a);
      expect(a.map((s) => (s.stale ? 'stale' : (s.histogram?.count ?? s.value)))).toEqual(expected[i]);
    }
  });
});
