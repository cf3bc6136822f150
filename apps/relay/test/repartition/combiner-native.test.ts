// The owner's combination of native histogram partials: merged at the coarsest schema, never backwards through a
// source's reset or end, the same after the wire format and a checkpoint round trip.
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import { SeriesCombiner, decodePartials, encodePartials, type PartialSeries } from '../../src/repartition/index.js';

const KEY = labelsKey({ __name__: 'latency_seconds', job: 'x' });
const opts = { ttlMs: 60_000 };

function nh(schema: number, positive: Record<number, number>, zeroCount = 0): NativeHistogram {
  const entries = Object.entries(positive).map(([i, c]) => [Number(i), c] as [number, number]);
  const count = zeroCount + entries.reduce((s, [, c]) => s + c, 0);
  return { schema, zeroThreshold: 0.001, zeroCount, count, sum: count * 1.5, positive: new Map(entries), negative: new Map(), float: false };
}

function p(h: NativeHistogram | null): PartialSeries {
  return h === null ? { key: KEY, combine: 'native', value: NaN, stale: true } : { key: KEY, combine: 'native', value: h.count, stale: false, histogram: h };
}

async function apply(c: SeriesCombiner, source: string, offset: number, ...series: PartialSeries[]) {
  // Through the wire format, as the owner receives them.
  return c.apply(decodePartials(await encodePartials({ source, offset, series })), 1000);
}

const merged = (c: SeriesCombiner) => {
  const [s] = c.collect(2000);
  return { schema: s!.histogram!.schema, count: s!.histogram!.count, zero: s!.histogram!.zeroCount, positive: Object.fromEntries(s!.histogram!.positive) };
};

describe('SeriesCombiner: native histograms', () => {
  it('merges sources at the coarsest schema; a reset or an end keeps what the source had counted', async () => {
    const c = new SeriesCombiner(opts);
    await apply(c, 't/0', 5, p(nh(2, { 1: 2, 2: 3, 5: 1 }, 1)));
    await apply(c, 't/1', 9, p(nh(1, { 1: 4 })));
    // schema 2 → 1: index 1,2 → 1; 5 → 3
    expect(merged(c)).toEqual({ schema: 1, count: 11, zero: 1, positive: { 1: 9, 3: 1 } });
    // An older word is ignored; a lower count at a newer offset is that source's reset.
    expect((await apply(c, 't/0', 4, p(nh(2, { 1: 1 })))).outdated).toBe(1);
    expect((await apply(c, 't/1', 10, p(nh(1, { 2: 1 })))).resets).toBe(1);
    expect(merged(c)).toEqual({ schema: 1, count: 12, zero: 1, positive: { 1: 9, 2: 1, 3: 1 } });
    // Source t/0's series ends: its histogram stays in the output.
    await apply(c, 't/0', 6, p(null));
    expect(merged(c)).toEqual({ schema: 1, count: 12, zero: 1, positive: { 1: 9, 2: 1, 3: 1 } });
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), opts);
    await apply(restored, 't/1', 11, p(nh(1, { 2: 3 })));
    expect(merged(restored)).toEqual({ schema: 1, count: 14, zero: 1, positive: { 1: 9, 2: 3, 3: 1 } });
    const [out] = restored.collect(2000);
    expect(out!.value).toBe(14);
    expect(out!.start).toBe(1000);
  });

  it('a native partial and a counter partial of one series name are a conflict, not a mix', async () => {
    const c = new SeriesCombiner(opts);
    await apply(c, 't/0', 1, p(nh(0, { 1: 1 })));
    const r = await apply(c, 't/1', 1, { key: KEY, combine: 'total', value: 5, stale: false });
    expect(r.conflicts).toBe(1);
    expect(merged(c).count).toBe(1);
  });
});
