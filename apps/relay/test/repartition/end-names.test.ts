// The names of a whole-job delete's ends (PartialSeries.end) and a message's part (PartialBatch.part) ride beside the
// rows, in fields of the message that older decoders do not read: every row is exactly what it is without them, so an
// older owner reads a new message as before. The owner's new checkpoint columns (`unwritten`, `ended`, `heard`) are
// optional: a state without them restores as one written before them.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import { SeriesCombiner, decodePartials, encodePartials, type PartialSeries } from '../../src/repartition/index.js';

const KEY = labelsKey({ __name__: 'rows_total', job: 'etl' });
const h = (count: number): NativeHistogram => ({ schema: 0, zeroThreshold: 0, zeroCount: 0, count, sum: count, positive: new Map([[1, count]]), negative: new Map(), float: false });
const json = (buf: Buffer) => JSON.parse(gunzipSync(buf).toString('utf8')) as { s: unknown[]; e?: number[]; p?: number };
const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

const SERIES: PartialSeries[] = [
  { key: KEY, combine: 'total', value: NaN, stale: true, final: { value: 16 }, end: 3 },
  { key: KEY, combine: 'total', value: NaN, stale: true, final: { value: 4 }, end: 0 },
  { key: KEY, combine: 'native', value: NaN, stale: true, final: { value: 5, histogram: h(5) }, end: 7, restart: 7 },
  { key: KEY, combine: 'native', value: 1, stale: false, histogram: h(1), restart: 7 },
  { key: KEY, combine: 'total', value: 2, stale: false, exemplar: { labels: { trace_id: 'a' }, value: 1, timestamp: 5 } },
];

describe('end names and parts on the wire', () => {
  it('leave every row as it is without them; the names go in `e`, the part in `p`', async () => {
    const named = json(await encodePartials({ source: 'in/0', offset: 9, series: SERIES, part: 2 }));
    const plain = json(await encodePartials({ source: 'in/0', offset: 9, series: SERIES.map(({ end: _end, ...p }) => p) }));
    expect(named.s).toEqual(plain.s);
    expect(named.e).toEqual([0, 3, 1, 0, 2, 7]);
    expect(named.p).toBe(2);
    expect(plain.e).toBeUndefined();
    expect(plain.p).toBeUndefined();
    // The first part says 0 (a source that knows parts).
    expect(json(await encodePartials({ source: 'in/0', offset: 9, series: SERIES, part: 0 })).p).toBe(0);
  });

  it('read back: each end its name, the part; a message without them reads as before', async () => {
    const back = decodePartials(await encodePartials({ source: 'in/0', offset: 9, series: SERIES, part: 1 }));
    expect(back.series.map((p) => p.end)).toEqual([3, 0, 7, undefined, undefined]);
    expect(back.series.map((p) => p.restart)).toEqual([undefined, undefined, 7, 7, undefined]);
    expect(back.part).toBe(1);
    const old = decodePartials(await encodePartials({ source: 'in/0', offset: 9, series: SERIES.map(({ end: _end, ...p }) => p) }));
    expect(old.series.map((p) => p.end)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(old.part).toBeUndefined();
  });

  it('a malformed name or part is refused, naming it', async () => {
    const { gzipSync } = await import('node:zlib');
    const msg = (extra: object) => gzipSync(Buffer.from(JSON.stringify({ v: 1, src: 'in/0', off: 9, s: [['t', KEY, 0, 1, 16], ['t', KEY, 2, 0]], ...extra })));
    expect(() => decodePartials(msg({ e: [0] }))).toThrow(/malformed end names/);
    expect(() => decodePartials(msg({ e: [1, 3] }))).toThrow(/malformed end name 0/); // a value row has no end
    expect(() => decodePartials(msg({ e: [0, -1] }))).toThrow(/malformed end name 0/);
    expect(() => decodePartials(msg({ e: [5, 3] }))).toThrow(/malformed end name 0/);
    expect(() => decodePartials(msg({ p: 'x' }))).toThrow(/malformed part/);
    expect(decodePartials(msg({ e: [0, 3] })).series[0]!.end).toBe(3);
  });
});

describe("the owner's new checkpoint columns", () => {
  it('are written when used and optional: without them a state restores as one written before them', () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    c.apply({ kind: 'partials', source: 'in/0', offset: 1, series: [{ key: KEY, combine: 'total', value: 10, stale: false }] }, 1000);
    c.apply({ kind: 'partials', source: 'in/0', offset: 3, series: [{ key: KEY, combine: 'total', value: NaN, stale: true, final: { value: 12 }, end: 2 }] }, 1100);
    const state = viaJson(c.toState()) as { series: { unwritten?: number[] }; entries: { ended?: number[] }; heard?: unknown[] };
    expect(state.series.unwritten).toEqual([0]);
    expect(state.entries.ended).toEqual([0, 2]);
    // (last, before, and when a publish at or above last was heard: see source-offsets-starting-lower-are-heard-after-silence)
    expect(state.heard).toEqual([['in/0', 3, 1, 1100]]);
    // Restored with them: the final total, then the marker; the end said again changes nothing.
    const restored = SeriesCombiner.fromState(state, { ttlMs: 60_000 });
    expect(restored.collect(2000).map((s) => (s.stale ? 'stale' : s.value))).toEqual([12]);
    // (counted outdated: prom_relay_partials_received_total{result="outdated"})
    expect(restored.apply({ kind: 'partials', source: 'in/0', offset: 3, series: [{ key: KEY, combine: 'total', value: NaN, stale: true, final: { value: 12 }, end: 2 }] }, 2100)).toMatchObject({ applied: 0, outdated: 1 });
    expect(restored.collect(3000).map((s) => (s.stale ? 'stale' : s.value))).toEqual(['stale']);
    expect(restored.collect(4000)).toEqual([]);
    // Without them (an older relay's state): the value is not known to be unwritten, and the marker comes at once.
    delete state.series.unwritten;
    delete state.entries.ended;
    delete state.heard;
    expect(SeriesCombiner.fromState(state, { ttlMs: 60_000 }).collect(2000).map((s) => (s.stale ? 'stale' : s.value))).toEqual(['stale']);
  });
});

describe('the owner tells a later part of a publish from the next publish', () => {
  const end = (name: number, value: number): PartialSeries => ({ key: KEY, combine: 'total', value: NaN, stale: true, final: { value }, end: name });
  const shown = (c: SeriesCombiner, at: number) => c.collect(at).map((s) => (s.stale ? 'stale' : s.value));

  it("an end in a publish's second part, of a run never said before, is news; the same publish again is not", async () => {
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    const other = labelsKey({ __name__: 'other_total', job: 'etl' });
    c.apply(decodePartials(await encodePartials({ source: 'in/0', offset: 4, series: [{ key: other, combine: 'total', value: 1, stale: false }] })), 1000);
    // The next publish (offset 9) in two parts: the end of a run pushed and deleted at offset 6 is in the second.
    const first = decodePartials(await encodePartials({ source: 'in/0', offset: 9, series: [{ key: other, combine: 'total', value: 2, stale: false }], part: 0 }));
    const second = decodePartials(await encodePartials({ source: 'in/0', offset: 9, series: [end(6, 7)], part: 1 }));
    c.apply(first, 1100);
    c.apply(second, 1100);
    expect(shown(c, 2000)).toEqual([2, 7]);
    expect(shown(c, 3000)).toEqual([2, 'stale']);
    // Said again (a publish whose acknowledgement was lost, at the same offset): the end was said by it.
    c.apply(first, 3100);
    expect(c.apply(second, 3100)).toMatchObject({ applied: 0, outdated: 1 });
    expect(shown(c, 4000)).toEqual([2]);
  });
});
