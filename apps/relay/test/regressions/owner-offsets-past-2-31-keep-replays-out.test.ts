// The owner keeps a series' source offset and times as 32-bit differences from a base per source
// (src/repartition/int-column.ts). Offsets of a topic past 2^31, of sources 2^40 apart, and an owner up for 30 days
// must still tell a replay (an offset at or below the one held: ignored) from news (a newer one: applied), before and
// after a checkpoint round trip: an offset read back wrong would count a replayed total twice, or drop a new one.
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import { SeriesCombiner, type PartialSeries } from '../../src/repartition/index.js';

const DAY = 86_400_000;
const SOURCES = [
  { name: 't/0', base: 2 ** 40 },
  { name: 't/1', base: 2 ** 33 + 17 },
  { name: 't/2', base: 5 },
];
const key = (i: number) => labelsKey({ __name__: 'rows_total', job: 'etl', shard: `s${i}` });
const partial = (i: number, value: number): PartialSeries => ({ key: key(i), combine: 'total', value, stale: false });

describe('an owner with offsets past 2^31, sources 2^40 apart, 30 days up', () => {
  it('applies news and ignores replays, the same after a restore', () => {
    let c = new SeriesCombiner({ ttlMs: 7 * DAY });
    const now0 = Date.now() + 30 * DAY;
    const want = new Map<number, number>();
    // Each source says each of 300 series at its own offsets, the offsets climbing by 2^30 a round: 7 * 2^30 past
    // the first within the run (each source's base moves, with its 300 series held, before and after the restore), the
    // totals growing.
    for (let round = 0; round < 8; round++) {
      for (const [s, src] of SOURCES.entries()) {
        const series = Array.from({ length: 300 }, (_, i) => partial(i, (round + 1) * (i + s + 1)));
        const r = c.apply({ kind: 'partials', source: src.name, offset: src.base + round * 2 ** 30, series }, now0 + round * 60_000);
        expect(r.applied).toBe(300);
      }
      if (round === 2) c = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), { ttlMs: 7 * DAY });
    }
    for (let i = 0; i < 300; i++) want.set(i, 8 * (i + 1) + 8 * (i + 2) + 8 * (i + 3));
    const totals = (x: SeriesCombiner) => new Map(x.collect(now0 + DAY).map((o) => [Number(o.labels.shard!.slice(1)), o.value]));
    expect(totals(c)).toEqual(want);
    // Replays: every source's older offsets, one below the newest and the first, say more: ignored.
    for (const src of SOURCES) {
      for (const offset of [src.base + 7 * 2 ** 30 - 1, src.base]) {
        const r = c.apply({ kind: 'partials', source: src.name, offset, series: Array.from({ length: 300 }, (_, i) => partial(i, 10_000)) }, now0 + DAY);
        expect(r.outdated).toBe(300);
      }
    }
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), { ttlMs: 7 * DAY });
    for (const x of [c, restored]) expect(totals(x)).toEqual(want);
    // (The owner's columns still 32 bits: `narrow`, a test-only view.)
    for (const x of [c, restored]) {
      const t = (x as unknown as { series: { table: { offset: { narrow: boolean }; heard: { narrow: boolean } } } }).series.table;
      expect([t.offset.narrow, t.heard.narrow]).toEqual([true, true]);
    }
    // News at a newer offset of one source: applied, in both.
    for (const x of [c, restored]) {
      const r = x.apply({ kind: 'partials', source: 't/1', offset: 2 ** 33 + 17 + 8 * 2 ** 30, series: [partial(7, 1_000)] }, now0 + DAY);
      expect(r.applied).toBe(1);
      expect(totals(x).get(7)).toBe(want.get(7)! - 8 * (7 + 2) + 1_000);
    }
  });
});
