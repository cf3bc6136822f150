// An owner remembers each source's last publish offset (`heard`): whatever the source says below it was said then (a
// replay after a crash, a late writer). It never forgot it: a source whose offsets start lower again (the input topic
// recreated, its source checkpoints reset) had every new series dropped as outdated, for ever (it is checkpointed). A
// source's offsets are now forgotten after the owner's TTL without a publish at or above them; within that, replays
// stay protected; a large backward jump is reported (the relay logs it, rate-limited).
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { backwardJumps } from '../../src/repartition/setup.js';
import type { PartialSeries } from '../../src/repartition/index.js';
import { T0, viaJson } from '../lib/partials-pipeline.js';

const TTL = 60_000;
const val = (key: string, value: number): PartialSeries => ({ combine: 'total', key, value, stale: false });
const names = (owner: SeriesCombiner, at: number) => owner.collect(at).map((s) => (s.stale ? `${s.labels.__name__}:stale` : `${s.labels.__name__}=${s.value}`));

describe("a source's offsets starting lower", () => {
  it('are heard again once the source was silent for the TTL, also through a restore', () => {
    const jumps: Array<[string, number, number]> = [];
    const opts = { ttlMs: TTL, onBackwardJump: (source: string, offset: number, last: number) => jumps.push([source, offset, last]) };
    const owner = new SeriesCombiner(opts);
    expect(owner.apply({ kind: 'partials', source: 'in/0', offset: 1000, series: [val('__name__="a_total",job="x",', 5)], part: 0 }, T0).applied).toBe(1);
    expect(names(owner, T0 + 1)).toEqual(['a_total=5']);
    // The series expires at the owner: its total stays written once more, then the marker.
    names(owner, T0 + 120_000);
    names(owner, T0 + 130_000);
    expect(owner.seriesCount).toBe(0);
    const restored = SeriesCombiner.fromState(viaJson(owner.toState()), opts);
    const r = restored.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [val('__name__="b_total",job="y",', 7)], part: 0 }, T0 + 200_000);
    expect(r).toMatchObject({ applied: 1, outdated: 0 });
    expect(names(restored, T0 + 200_001)).toEqual(['b_total=7']);
    // A first word of the source is no jump.
    expect(jumps).toEqual([]);
  });

  it('within the TTL a replay below the last publish stays outdated, and a large jump back is reported', () => {
    const jumps: Array<[string, number, number]> = [];
    const owner = new SeriesCombiner({ ttlMs: TTL, onBackwardJump: (source, offset, last) => jumps.push([source, offset, last]) });
    owner.apply({ kind: 'partials', source: 'in/0', offset: 1000, series: [val('__name__="a_total",job="x",', 5)], part: 0 }, T0);
    names(owner, T0 + 10_000);
    owner.apply({ kind: 'partials', source: 'in/0', offset: 990, series: [val('__name__="c_total",job="x",', 1)], part: 0 }, T0 + 20_000);
    // A replay at 990 (a source restored from its checkpoint): the new series it names was said then.
    expect(owner.apply({ kind: 'partials', source: 'in/0', offset: 990, series: [val('__name__="c_total",job="x",', 1)], part: 0 }, T0 + 20_000).outdated).toBe(1);
    expect(jumps).toEqual([]);
    // Offsets far lower (the topic recreated): still outdated within the TTL, but reported.
    expect(owner.apply({ kind: 'partials', source: 'in/0', offset: 3, series: [val('__name__="d_total",job="x",', 1)], part: 0 }, T0 + 30_000).outdated).toBe(1);
    expect(jumps).toEqual([['in/0', 3, 1000]]);
    // Only publishes at or above the last one keep the source heard: TTL after it, its lower offsets count.
    names(owner, T0 + 40_000);
    names(owner, T0 + 70_000);
    expect(owner.apply({ kind: 'partials', source: 'in/0', offset: 4, series: [val('__name__="d_total",job="x",', 1)], part: 0 }, T0 + 75_000).applied).toBe(1);
  });

  it('the relay logs a jump back once a minute per source, saying what it means', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const owner = new SeriesCombiner({ ttlMs: TTL, onBackwardJump: backwardJumps(logger, TTL) });
    owner.apply({ kind: 'partials', source: 'in/0', offset: 1000, series: [val('__name__="a_total",job="x",', 5)], part: 0 }, T0);
    for (const offset of [3, 4, 5]) owner.apply({ kind: 'partials', source: 'in/0', offset, series: [val('__name__="d_total",job="x",', 1)], part: 0 }, T0 + offset);
    const jumps = lines.filter((l) => l['code'] === 'PROM_RELAY_PARTIALS_OFFSETS_WENT_BACK');
    expect(jumps).toHaveLength(1);
    expect(jumps[0]).toMatchObject({ level: 40, source: 'in/0', offset: 3, last: 1000, forgetAfterMs: TTL });
    expect(String(jumps[0]!['msg'])).toContain('counted outdated');
  });
});
