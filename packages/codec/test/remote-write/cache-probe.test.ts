import { beforeEach, describe, expect, it } from 'vitest';
import { decodeWriteRequest, decodeWriteRequestV2, encodeWriteRequest, encodeWriteRequestV2 } from '../../src/index.js';
import type { Labels, TimeSeries, WriteRequest } from '../../src/index.js';
import { CacheProbe, PROBE_WINDOW, SKIP_BASE } from '../../src/remote-write/cache-probe.js';
import { labelPairMode, resetLabelPairCache } from '../../src/remote-write/v1.js';
import { resetSymbolCache, symbolValueMode } from '../../src/remote-write/v2.js';
import { loadProtoRoot } from '../helpers/proto.js';

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'Z', '0', '/', '-', '_', ' ', 'é', 'ü', '✓', '日', '😀'];

/**
 * Series whose labels mix names with few repeated values (job, zone) and names whose values are all
 * distinct (id, sometimes empty; url: short, unicode, longer than 127 bytes so the pair needs a two-byte length, or past
 * the 200-character cache limit), in random key order so the sorting path runs too.
 */
function randomRequest(seed: number, count: number): WriteRequest {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const text = (n: number): string => Array.from({ length: n }, () => pick(ALPHABET)).join('');
  const timeseries: TimeSeries[] = [];
  for (let i = 0; i < count; i++) {
    const entries: Array<[string, string]> = [
      ['__name__', pick(['http_requests_total', 'up', 'latency_seconds_bucket'])],
      ['job', pick(['api', 'db', 'cache'])],
      ['zone', pick(['eu-1', 'us-2', 'ap-3', 'sa-4', ''])],
      // Empty ids only later, so that they miss while the name skips the cache.
      ['id', i >= 2 * PROBE_WINDOW && next() < 0.1 ? '' : `${i}-${text(1 + Math.floor(next() * 12))}`],
      ['url', `/${i}/${text(pick([3, 40, 130, 230]))}`],
    ];
    for (let k = entries.length - 1; k > 0; k--) {
      const j = Math.floor(next() * (k + 1));
      [entries[k], entries[j]] = [entries[j]!, entries[k]!];
    }
    const labels: Labels = Object.fromEntries(entries);
    timeseries.push({ labels, samples: [{ value: next() * 1e6 - 5e5, timestamp: 1_700_000_000_000 + i }] });
  }
  return { timeseries };
}

/** The request as decoding returns it: label names sorted. */
function expected(req: WriteRequest): WriteRequest {
  return {
    timeseries: req.timeseries.map((s) => ({
      labels: Object.fromEntries(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      samples: s.samples,
    })),
  };
}

describe('label cache bypass for names whose values do not repeat', () => {
  beforeEach(() => {
    resetLabelPairCache();
    resetSymbolCache();
  });

  it('RW 1.0: the bypass writes the same bytes as the cache, series by series', () => {
    const req = randomRequest(7, 3 * PROBE_WINDOW);
    const first = encodeWriteRequest(req);
    // The distinct names went around the cache; the repeated ones stayed in it.
    expect(labelPairMode('id')).toBe('bypass');
    expect(labelPairMode('url')).toBe('bypass');
    expect(labelPairMode('job')).toBe('cached');
    expect(labelPairMode('zone')).toBe('cached');
    // Again, now with id and url bypassed from the first series on.
    const second = encodeWriteRequest(req);
    // Reference: every series alone, from an empty cache, so every pair goes through the cache.
    const parts = req.timeseries.map((s) => {
      resetLabelPairCache();
      return encodeWriteRequest({ timeseries: [s] });
    });
    const reference = Buffer.concat(parts);
    expect(Buffer.from(first).equals(reference)).toBe(true);
    expect(Buffer.from(second).equals(reference)).toBe(true);
    expect(decodeWriteRequest(second)).toEqual(expected(req));
  });

  it('RW 1.0: bypassed bytes decode with protobufjs over proto/ to the same labels', () => {
    const req = randomRequest(11, 2 * PROBE_WINDOW);
    encodeWriteRequest(req);
    expect(labelPairMode('id')).toBe('bypass');
    const body = encodeWriteRequest(req);
    const WriteRequestType = loadProtoRoot().lookupType('prometheus.WriteRequest');
    const viaReflection = WriteRequestType.toObject(WriteRequestType.decode(body), { defaults: true }) as {
      timeseries: Array<{ labels: Array<{ name: string; value: string }> }>;
    };
    const want = expected(req);
    viaReflection.timeseries.forEach((s, i) => {
      expect(Object.fromEntries(s.labels.map((l) => [l.name, l.value]))).toEqual(want.timeseries[i]!.labels);
    });
  });

  it('RW 1.0: a bypassed name whose values start repeating goes back to the cache after its skip period', () => {
    encodeWriteRequest(randomRequest(3, 2 * PROBE_WINDOW));
    expect(labelPairMode('id')).toBe('bypass');
    const repeating: WriteRequest = {
      timeseries: Array.from({ length: 1000 }, (_, i) => ({ labels: { __name__: 'up', id: `n${i % 8}` }, samples: [{ value: 1, timestamp: 1 }] })),
    };
    // Misses keep skipping the cache until the skip period is over; then they are added again (a probe)...
    for (let k = 0; k * 1000 <= SKIP_BASE + PROBE_WINDOW; k++) encodeWriteRequest(repeating);
    // ...the eight values hit from then on, and the next miss, a window later, finds misses rare.
    encodeWriteRequest({ timeseries: [{ labels: { __name__: 'up', id: 'new' }, samples: [] }] });
    expect(labelPairMode('id')).toBe('cached');
    expect(decodeWriteRequest(encodeWriteRequest(repeating))).toEqual(repeating);
  });

  it('RW 2.0: bypassed values still give a de-duplicated symbols table and the same labels', () => {
    const req = randomRequest(5, 3 * PROBE_WINDOW);
    // Values of a bypassed name that also occur under cached names (before and after), and twice in one request.
    req.timeseries[0]!.labels['alias'] = 'shared';
    req.timeseries[5]!.labels['id'] = 'shared';
    for (let i = 50; i < req.timeseries.length; i += 50) {
      req.timeseries[i]!.labels['job'] = req.timeseries[i]!.labels['id']!;
      req.timeseries[i + 1]!.labels['id'] = req.timeseries[i]!.labels['id']!;
    }
    encodeWriteRequestV2(req);
    expect(symbolValueMode('id')).toBe('bypass');
    expect(symbolValueMode('job')).toBe('cached');
    const body = encodeWriteRequestV2(req);
    const Request = loadProtoRoot().lookupType('io.prometheus.write.v2.Request');
    const symbols = (Request.toObject(Request.decode(body)) as { symbols: string[] }).symbols;
    expect(symbols[0]).toBe('');
    expect(new Set(symbols).size).toBe(symbols.length);
    expect(decodeWriteRequestV2(body)).toEqual(expected(req));
    // The same request from empty caches (no bypass) has the same symbols in the same order.
    resetSymbolCache();
    expect(Buffer.from(encodeWriteRequestV2(req)).equals(Buffer.from(body))).toBe(true);
  });

  it('RW 2.0: a bypassed name whose values start repeating goes back to the persistent slots', () => {
    encodeWriteRequestV2(randomRequest(9, 2 * PROBE_WINDOW));
    expect(symbolValueMode('id')).toBe('bypass');
    const repeating: WriteRequest = {
      timeseries: Array.from({ length: 1000 }, (_, i) => ({ labels: { __name__: 'up', id: `n${i % 8}` }, samples: [{ value: 1, timestamp: 1 }] })),
    };
    for (let k = 0; k * 1000 <= SKIP_BASE + PROBE_WINDOW; k++) encodeWriteRequestV2(repeating);
    encodeWriteRequestV2({ timeseries: [{ labels: { __name__: 'up', id: 'new' }, samples: [] }] });
    expect(symbolValueMode('id')).toBe('cached');
    expect(decodeWriteRequestV2(encodeWriteRequestV2(repeating))).toEqual(repeating);
  });

  it('CacheProbe skips after a window of frequent misses, probes again after its skip period, backs off', () => {
    const probe = new CacheProbe('x', 0);
    let now = 1;
    // A miss in every label set: added (false) until the first window ends, then skipped.
    for (; now < PROBE_WINDOW; now++) expect(probe.miss(now)).toBe(false);
    expect(probe.miss(now++)).toBe(true);
    for (; now < SKIP_BASE; now++) expect(probe.miss(now)).toBe(true);
    // The skip period is over: one window of misses is added again; they keep missing, so it skips, twice as long.
    now += PROBE_WINDOW;
    expect(probe.miss(now++)).toBe(false);
    for (let i = 0; i < PROBE_WINDOW; i++, now++) probe.miss(now);
    expect(probe.skipping).toBe(true);
    const skipFrom = now;
    for (; now < skipFrom + SKIP_BASE + 1; now++) expect(probe.miss(now)).toBe(true);
    // One miss in three label sets is not enough to skip: after the next probe window it stays cached.
    now = skipFrom + 2 * SKIP_BASE;
    for (let i = 0; i < 4 * PROBE_WINDOW; i++, now++) if (i % 3 === 0) probe.miss(now);
    expect(probe.skipping).toBe(false);
    for (let i = 0; i < 4 * PROBE_WINDOW; i++, now++) if (i % 3 === 0) expect(probe.miss(now)).toBe(false);
  });
});
