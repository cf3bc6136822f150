// Restarts (a total's series ended at its source and began again before the source said it again): how the source
// names them on the wire, and how an owner applies one exactly once, also after a restore from its checkpoint.
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import type { ProducedMessage } from '../../src/kafka/index.js';
import type { CombineMode, OutputSample } from '../../src/model.js';
import { PartialsPublisher, SeriesCombiner, decodePartials, encodePartials, type PartialBatch, type PartialSeries } from '../../src/repartition/index.js';
import { rng } from '../aggregate/fixtures.js';

const KEY = labelsKey({ __name__: 'rows_total', job: 'x' });
const OPTS = { ttlMs: 60_000 };
const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
/** Collected samples as text: non-finite numbers and histogram buckets kept. */
const plain = (samples: OutputSample[]) =>
  JSON.stringify(samples, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v instanceof Map ? [...v].sort((a, b) => a[0] - b[0]) : v));

function p(value: number, extra: Partial<PartialSeries> = {}, combine: CombineMode = 'total'): PartialSeries {
  return { key: KEY, combine, value, stale: false, ...extra };
}

const rows = (buf: Buffer) => (JSON.parse(gunzipSync(buf).toString('utf8')) as { s: unknown[][] }).s;

async function viaWire(source: string, offset: number, series: PartialSeries[]): Promise<PartialBatch> {
  return decodePartials(await encodePartials({ source, offset, series }));
}

const valueOf = (c: SeriesCombiner, at = 2000) => c.collect(at).map((s) => (s.stale ? 'stale' : s.value));

describe('restarts on the wire', () => {
  it('a restart row reads as a plain value to a decoder before restarts; its end as a stale row; the name only when needed', async () => {
    const h: NativeHistogram = { schema: 0, zeroThreshold: 0, zeroCount: 1, count: 3, sum: 2, positive: new Map([[1, 2]]), negative: new Map(), float: false };
    const series: PartialSeries[] = [
      p(NaN, { stale: true, restart: 41 }),
      p(4, { restart: 41 }),
      p(5, { restart: 30, exemplar: { labels: { trace_id: 'a' }, value: 1, timestamp: 7 } }),
      p(3, { restart: 30 }, 'native'),
      p(2),
    ];
    series[3]!.histogram = h;
    const buf = await encodePartials({ source: 'in/0', offset: 41, series });
    const [end, own, carried, native, plain] = rows(buf);
    // [mode, key, value, stale, ...]: an end is a stale row (1) with its name at 8 (and no final total: null at 4); a
    // restart has 2 (not 1: not stale).
    expect(end).toEqual(['t', KEY, 0, 1, null, 0, 0, null, 41]);
    expect(own).toEqual(['t', KEY, 4, 2]);
    expect(carried).toEqual(['t', KEY, 5, 2, 0, 0, 0, [{ trace_id: 'a' }, 1, 7], 30]);
    expect(native!.slice(0, 4)).toEqual(['h', KEY, 3, 2]);
    expect(native![8]).toBe(30);
    expect(plain).toEqual(['t', KEY, 2, 0]);
    const back = decodePartials(buf).series;
    expect(back.map((x) => [x.stale, x.restart])).toEqual([
      [true, 41],
      [false, 41],
      [false, 30],
      [false, 30],
      [false, undefined],
    ]);
    expect(back[2]!.exemplar).toEqual({ labels: { trace_id: 'a' }, value: 1, timestamp: 7 });
    expect(back[3]!.histogram?.count).toBe(3);
  });

  it('a malformed restart name is refused, naming the partial', async () => {
    const bad = await encodePartials({ source: 'in/0', offset: 3, series: [p(1, { restart: 1 })] });
    const json = JSON.parse(gunzipSync(bad).toString('utf8')) as { s: unknown[][] };
    json.s[0]![8] = 'x';
    expect(() => decodePartials(gzipSync(JSON.stringify(json)))).toThrow(/partial 0: malformed restart offset/);
  });
});

describe('the publisher names restarts', () => {
  const total = (name: string, value: number, stale = false, combine: CombineMode = 'total'): OutputSample => {
    const labels = { __name__: name, job: 'x' };
    return { labels, key: labelsKey(labels), value, combine, ...(stale ? { stale: true } : {}) };
  };

  function capture() {
    const sent: ProducedMessage[] = [];
    const producer = { send: async (_t: string, m: ProducedMessage[]) => void sent.push(...m) };
    return { sent, publisher: new PartialsPublisher(producer as never, 'partials', 1), series: () => sent.flatMap((m) => decodePartials(m.value as Buffer).series) };
  }

  it('an ended total with a value in the same snapshot, and only that: gauges, other kinds and lone ends stay as they are', async () => {
    const { publisher, series } = capture();
    const samples = [total('a_total', NaN, true), total('g', NaN, true, 'last'), total('b_total', NaN, true), total('g', 3, false, 'last'), total('a_total', 4), total('b_total', 1, false, 'last'), total('c_total', 9)];
    const r = await publisher.publish([{ source: 'in/0', offset: 41n, samples }]);
    expect(r.partials).toBe(samples.length);
    expect(series().map((x) => [x.key.slice(10, 17), x.stale, x.restart])).toEqual([
      ['a_total', true, 41],
      ['g",job=', true, undefined],
      ['b_total', true, undefined],
      ['g",job=', false, undefined],
      ['a_total', false, 41],
      ['b_total', false, undefined],
      ['c_total', false, undefined],
    ]);
  });

  it("a failed publish's end said again beside the new run keeps the offset it was first published at", async () => {
    const { publisher, sent, series } = capture();
    const end = total('a_total', NaN, true);
    await publisher.publish([{ source: 'in/0', offset: 41n, samples: [end, total('a_total', 4)] }]);
    sent.length = 0;
    // The carried end (the same object, SourceState.publishAll) and a new value, at a later offset.
    await publisher.publish([{ source: 'in/0', offset: 45n, samples: [end, total('a_total', 6)] }]);
    expect(series().map((x) => x.restart)).toEqual([41, 41]);
    sent.length = 0;
    // Two ends (the carried one and a new one) before the value: the latest names the restart.
    await publisher.publish([{ source: 'in/0', offset: 50n, samples: [end, total('a_total', NaN, true), total('a_total', 2)] }]);
    expect(series().map((x) => x.restart)).toEqual([50, 50, 50]);
  });

  it("an end that knows its delete's record offset is named by it, however late it is said (a source's replay after a crash)", async () => {
    const { publisher, sent, series } = capture();
    const end = (): OutputSample => ({ ...total('a_total', NaN, true), final: { value: 3, offset: 37 } });
    await publisher.publish([{ source: 'in/0', offset: 41n, samples: [end(), total('a_total', 4)] }]);
    expect(series().map((x) => x.restart)).toEqual([37, 37]);
    sent.length = 0;
    // The same delete applied again after a crash: other objects, a later offset, the same name.
    await publisher.publish([{ source: 'in/0', offset: 45n, samples: [end(), total('a_total', 6)] }]);
    expect(series().map((x) => x.restart)).toEqual([37, 37]);
  });
});

describe('an owner applies a restart once', () => {
  afterEach(() => vi.useRealTimers());

  it('alone: the series starts again from zero; the same restart again (also from a restored owner) is its plain value', async () => {
    const c = new SeriesCombiner(OPTS);
    c.apply(await viaWire('in/0', 5, [p(10)]), 1000);
    expect(c.collect(1500)[0]).toMatchObject({ value: 10, start: 1000 });
    const restart = await viaWire('in/0', 9, [p(NaN, { stale: true, restart: 9 }), p(4, { restart: 9 })]);
    c.apply(restart, 1600);
    expect(c.collect(1700)[0]).toMatchObject({ value: 4, start: 1600 });
    const state = viaJson(c.toState());
    expect((state as { entries: { restarted?: number[] } }).entries.restarted).toEqual([0, 9]);
    c.apply(restart, 1800);
    expect(c.collect(1900)[0]).toMatchObject({ value: 4, start: 1600 });
    const restored = SeriesCombiner.fromState(state, OPTS);
    restored.apply(restart, 1800);
    expect(restored.collect(1900)[0]).toMatchObject({ value: 4, start: 1600 });
    // The run goes on, then restarts again (a new name): from zero again.
    c.apply(await viaWire('in/0', 12, [p(7, { restart: 9 })]), 2000);
    expect(valueOf(c, 2100)).toEqual([7]);
    c.apply(await viaWire('in/0', 15, [p(2, { restart: 15 })]), 2200);
    expect(valueOf(c, 2300)).toEqual([2]);
    // An older restart (a replay, a writer that lost the partition) is outdated.
    expect(c.apply(restart, 2400).outdated).toBe(1);
  });

  it('beside another source that goes on: what the restarted source had counted stays', () => {
    const c = new SeriesCombiner(OPTS);
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10)] }, 1000);
    c.apply({ kind: 'partials', source: 'in/1', offset: 3, series: [p(1)] }, 1000);
    c.apply({ kind: 'partials', source: 'in/0', offset: 9, series: [p(4, { restart: 9 })] }, 1100);
    expect(valueOf(c)).toEqual([15]);
    // Said again at a later offset (after a failed publish), with the run's newer total: a plain value.
    c.apply({ kind: 'partials', source: 'in/0', offset: 11, series: [p(6, { restart: 9 })] }, 1200);
    expect(valueOf(c)).toEqual([17]);
    // A source that had ended (retired) restarts: from zero, its earlier count kept.
    c.apply({ kind: 'partials', source: 'in/1', offset: 4, series: [p(NaN, { stale: true })] }, 1300);
    c.apply({ kind: 'partials', source: 'in/1', offset: 6, series: [p(2, { restart: 6 })] }, 1400);
    expect(valueOf(c)).toEqual([19]);
    // A source new to the series that starts with a restart: its value, once.
    const fresh = { kind: 'partials' as const, source: 'in/2', offset: 8, series: [p(5, { restart: 8 })] };
    c.apply(fresh, 1500);
    c.apply(fresh, 1500);
    expect(valueOf(c)).toEqual([24]);
  });

  it("alone after the other sources ended: from zero, and an ended source's older word is still outdated", () => {
    const c = new SeriesCombiner(OPTS);
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10)] }, 1000);
    c.apply({ kind: 'partials', source: 'in/1', offset: 3, series: [p(1)] }, 1000);
    c.apply({ kind: 'partials', source: 'in/1', offset: 4, series: [p(NaN, { stale: true })] }, 1100);
    c.apply({ kind: 'partials', source: 'in/0', offset: 9, series: [p(4, { restart: 9 })] }, 1200);
    // The ended series' total (never written: no collect came between) goes first.
    expect(c.collect(1300)[0]).toMatchObject({ value: 11 });
    expect(c.collect(1300)[0]).toMatchObject({ value: 4, start: 1200 });
    // A writer that lost in/1 says what it had before the end: outdated, as before the restart.
    expect(c.apply({ kind: 'partials', source: 'in/1', offset: 3, series: [p(1)] }, 1400).outdated).toBe(1);
    // in/1's next run counts from zero beside in/0's.
    c.apply({ kind: 'partials', source: 'in/1', offset: 7, series: [p(2)] }, 1500);
    expect(valueOf(c)).toEqual([6]);
  });

  it('an end whose restart did not arrive (its message was lost) is skipped: the series goes on until the restart comes', () => {
    const c = new SeriesCombiner(OPTS);
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10)] }, 1000);
    c.apply({ kind: 'partials', source: 'in/0', offset: 9, series: [p(NaN, { stale: true, restart: 9 })] }, 1100);
    expect(valueOf(c)).toEqual([10]);
    c.apply({ kind: 'partials', source: 'in/0', offset: 12, series: [p(6, { restart: 9 })] }, 1200);
    expect(valueOf(c)).toEqual([6]);
  });

  it('native histograms: the same rules', async () => {
    const h = (count: number): NativeHistogram => ({ schema: 0, zeroThreshold: 0, zeroCount: 0, count, sum: count, positive: new Map([[1, count]]), negative: new Map(), float: false });
    const n = (count: number, extra: Partial<PartialSeries> = {}) => p(count, { histogram: h(count), ...extra }, 'native');
    const c = new SeriesCombiner(OPTS);
    c.apply(await viaWire('in/0', 5, [n(10)]), 1000);
    c.apply(await viaWire('in/1', 5, [n(1)]), 1000);
    const restart = await viaWire('in/0', 9, [n(4, { restart: 9 })]);
    c.apply(restart, 1100);
    c.apply(restart, 1100);
    expect(c.collect(2000)[0]!.histogram!.count).toBe(15);
    const restored = SeriesCombiner.fromState(viaJson(c.toState()), OPTS);
    for (const x of [c, restored]) {
      x.apply(restart, 1200);
      x.apply(await viaWire('in/0', 11, [n(6, { restart: 9 })]), 1200);
      expect(x.collect(2000)[0]!.histogram!.count).toBe(17);
    }
  });

  it('a state written before restarts (no `restarted` column) still restores', () => {
    const c = new SeriesCombiner(OPTS);
    c.apply({ kind: 'partials', source: 'in/0', offset: 5, series: [p(10)] }, 1000);
    const state = viaJson(c.toState()) as { entries: Record<string, unknown> };
    expect('restarted' in state.entries).toBe(false);
    expect(valueOf(SeriesCombiner.fromState(state, OPTS))).toEqual([10]);
  });

  it('randomized restarts, repeats, replays and ends from three sources: restored anywhere, the same future', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const T0 = 1_764_000_000_000;
    let restores = 0;
    let restarts = 0;
    let finals = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const rand = rng(seed * 7919);
      vi.setSystemTime(T0);
      const original = new SeriesCombiner({ ttlMs: 1_000 });
      let restored = new SeriesCombiner({ ttlMs: 1_000 });
      let now = T0;
      const offsets: Record<string, number> = { 'in/0': 1, 'in/1': 1, 'in/2': 1 };
      const keys = ['a', 'b'].map((k) => labelsKey({ __name__: `${k}_total`, job: 'x' }));
      const said: PartialBatch[] = [];
      for (let step = 0; step < 120; step++) {
        const r = rand();
        if (r < 0.6) {
          let batch: PartialBatch;
          if (rand() < 0.15 && said.length > 0) batch = said[Math.floor(rand() * said.length)]!; // a repeat or a replay
          else {
            const source = `in/${Math.floor(rand() * 3)}`;
            if (rand() < 0.7) offsets[source]! += 1 + Math.floor(rand() * 2);
            const offset = offsets[source]!;
            const series: PartialSeries[] = [];
            for (const key of keys) {
              const y = rand();
              const value = Math.floor(rand() * 20);
              const native = key.startsWith('__name__="b') && rand() < 0.3;
              const base: PartialSeries = { key, combine: native ? 'native' : 'total', value, stale: false };
              if (native) base.histogram = { schema: 0, zeroThreshold: 0, zeroCount: 0, count: value, sum: value, positive: new Map([[0, value]]), negative: new Map(), float: false };
              // An end, most with the series' final total (often newer than what the source last said).
              const end = (): PartialSeries => {
                const e: PartialSeries = { ...base, value: NaN, stale: true, histogram: undefined };
                if (rand() < 0.6) {
                  const v = value + Math.floor(rand() * 10);
                  e.final = native ? { value: v, histogram: { ...base.histogram!, count: v, sum: v, positive: new Map([[0, v]]) } } : { value: v };
                  finals++;
                }
                return e;
              };
              if (y < 0.3) series.push(base);
              else if (y < 0.45) series.push(end());
              else if (y < 0.7) {
                // A restart named by this offset or an earlier one (said again after a failed publish).
                const name = offset - Math.floor(rand() * 3);
                if (rand() < 0.5) series.push({ ...end(), restart: name });
                series.push({ ...base, restart: name });
                restarts++;
              }
            }
            batch = { kind: 'partials', source, offset, series };
            said.push(batch);
          }
          const a = original.apply(structuredClone(batch), now);
          const b = restored.apply(structuredClone(batch), now);
          expect(b, `seed ${seed} step ${step}`).toEqual(a);
        } else if (r < 0.85) {
          now += Math.floor(rand() * 600);
          expect(plain(restored.collect(now)), `seed ${seed} step ${step}`).toBe(plain(original.collect(now)));
        } else {
          const state = viaJson(restored.toState());
          vi.setSystemTime(now + Math.floor(rand() * 100_000) - 50_000);
          restored = SeriesCombiner.fromState(state, { ttlMs: 1_000 });
          restores++;
        }
      }
    }
    expect(restores).toBeGreaterThan(500);
    expect(restarts).toBeGreaterThan(2000);
    expect(finals).toBeGreaterThan(1000);
  }, 60_000);
});
