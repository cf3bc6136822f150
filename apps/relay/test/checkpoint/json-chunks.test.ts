import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/index.js';
import { jsonChunks } from '../../src/checkpoint/json-chunks.js';
import type { Checkpoint } from '../../src/model.js';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { batch, counter, gauge, options } from '../aggregate/fixtures.js';

const joined = (v: object, size?: number) => [...jsonChunks(v, size)].join('');

/** An owner's state as the flush writes it: `n` combined series fed by two source partitions. */
function combinerState(n: number): unknown {
  const c = new SeriesCombiner({ ttlMs: 60_000 });
  for (const source of ['metrics/0', 'metrics/1']) {
    c.apply(
      {
        kind: 'partials',
        source,
        offset: 7,
        series: Array.from({ length: n }, (_, i) => ({ key: `__name__="requests_total",instance="i-${i}",job="api",zone="zürich \\"a\\"",`, combine: 'total' as const, value: i * 1.5, stale: false })),
      },
      1_764_000_000_000,
    );
  }
  return c.toState();
}

/** A source partition's aggregate state: counters and gauges of `producers` producers. */
function aggregateState(producers: number): unknown {
  const agg = new PartitionAggregate(options({ limits: { maxSeries: 1_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
  for (let p = 0; p < producers; p++) {
    const points = [counter('bytes_total', p * 3.25, { shard: `s-${p}` }), gauge('depth', p % 11, { shard: `s-${p}`, note: 'tab\there ✓' })];
    agg.apply(batch({ producer: `producer-${p}`, job: `job-${p % 3}`, points }), 1_764_000_000_000 + p);
  }
  return agg.toState();
}

describe('jsonChunks', () => {
  it('writes the text JSON.stringify writes, for every kind of value a checkpoint holds and some it does not', () => {
    const long = Array.from({ length: 10_000 }, (_, i) => (i % 5 === 0 ? undefined : i % 5 === 1 ? `s${i}\u2028"\\` : i % 5 === 2 ? [i, { a: i }] : i % 5 === 3 ? NaN : i * 0.1));
    const holey: unknown[] = new Array(9000);
    holey[3] = 'x';
    holey[8999] = -Infinity;
    const values: object[] = [
      {},
      [],
      { a: undefined, b: () => 1, c: Symbol('s'), d: null, e: [undefined, () => 1, Symbol('t')], f: -0, g: 1e21, h: 'é\u0000\ud800' },
      { when: new Date(0), boxed: [new Number(3), new String('s'), new Boolean(false)], own: { toJSON: () => ({ replaced: true }) } },
      { long, holey, nested: [[[long.slice(0, 100)]], { deep: { deeper: [long] } }] },
      [{ a: 1 }, 'b', [2, [3, [4]]], null],
      { 'key "quoted"\n': 1, 0: 'numeric key first', z: 2 },
    ];
    for (const v of values) {
      for (const size of [1, 7, 1024, 64 * 1024]) expect(joined(v, size)).toBe(JSON.stringify(v));
    }
  });

  it('writes an owner state and a source state as JSON.stringify does, in pieces of about the size asked', () => {
    for (const state of [combinerState(20_000), aggregateState(10_000)]) {
      const cp = { version: 1, topic: 'metrics', partition: 3, offset: '123', lastFlushTimestamp: 1_764_000_000_000, state };
      const whole = JSON.stringify(cp);
      const pieces = [...jsonChunks(cp, 64 * 1024)];
      expect(pieces.join('')).toBe(whole);
      expect(whole.length).toBeGreaterThan(1_000_000);
      // Every piece but the last reaches the size; none is much larger (one slice of a column at most).
      for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(64 * 1024);
      expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(whole.length / 4);
    }
  });
});

describe('encodeCheckpoint', () => {
  it('gzips the JSON of the checkpoint without ever holding the whole text in one string', async () => {
    const cp: Checkpoint = { version: 1, topic: 'metrics', partition: 0, offset: '42', lastFlushTimestamp: 1_764_000_000_000, state: combinerState(40_000) };
    const whole = JSON.stringify(cp);
    const stringify = JSON.stringify;
    let longest = 0;
    JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
      const text = stringify(...args);
      longest = Math.max(longest, text?.length ?? 0);
      return text;
    }) as typeof JSON.stringify;
    let value: Buffer;
    try {
      value = await encodeCheckpoint(cp);
    } finally {
      JSON.stringify = stringify;
    }
    expect(whole.length).toBeGreaterThan(4_000_000);
    expect(longest).toBeLessThan(whole.length / 8);
    expect(gunzipSync(value).toString('utf8')).toBe(whole);
    expect(await decodeCheckpoint(value)).toEqual(JSON.parse(whole));
  });

  it('refuses a value JSON cannot write, as JSON.stringify does', async () => {
    const cp = { version: 1, topic: 'metrics', partition: 0, offset: '1', lastFlushTimestamp: 1, state: { n: 1n } } as unknown as Checkpoint;
    await expect(encodeCheckpoint(cp)).rejects.toThrow(TypeError);
  });
});
