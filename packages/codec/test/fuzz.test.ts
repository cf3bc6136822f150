import snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  compress,
  decodeWriteRequest,
  decodeWriteRequestV2,
  decompress,
  encodeWriteRequest,
  encodeWriteRequestV2,
  formatExposition,
  parseExposition,
} from '../src/index.js';
import type { WriteRequest } from '../src/index.js';
import { runCli } from '../src/cli.js';

/** mulberry32: a seeded PRNG so a failing case can be replayed from the seed in the message. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env['CODEC_FUZZ_SEED'] ?? 20261124);
const ITERATIONS = 3000;

const base: WriteRequest = {
  timeseries: [
    {
      labels: { __name__: 'http_requests_total', job: 'api', path: '/ü' },
      samples: [
        { value: 1.5, timestamp: 1_700_000_000_000, startTimestamp: 1_699_999_999_000 },
        { value: NaN, timestamp: 1_700_000_000_001, stale: true },
      ],
      exemplars: [{ labels: { trace_id: 'abc' }, value: 2, timestamp: 1_700_000_000_000 }],
    },
    {
      labels: { __name__: 'lat', le: '0.5' },
      samples: [],
      histograms: [
        {
          count: 5, sum: 2.5, schema: 1, zeroThreshold: 0.1, zeroCount: 1,
          negativeSpans: [{ offset: -1, length: 1 }], negativeDeltas: [2], negativeCounts: [],
          positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, -1], positiveCounts: [],
          resetHint: 'no', timestamp: 1_700_000_000_000, startTimestamp: 1_699_999_999_000,
        },
      ],
    },
  ],
  metadata: [{ type: 'counter', metricFamilyName: 'http_requests_total', help: 'Requests.' }],
};

function mutate(rand: () => number, body: Uint8Array): Uint8Array {
  const out = Uint8Array.from(body);
  const kind = Math.floor(rand() * 4);
  if (kind === 0) {
    const flips = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < flips; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(rand() * out.length));
  if (kind === 2) {
    // Insert random bytes in the middle.
    const at = Math.floor(rand() * out.length);
    const extra = Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256));
    const joined = new Uint8Array(out.length + extra.length);
    joined.set(out.subarray(0, at));
    joined.set(extra, at);
    joined.set(out.subarray(at), at + extra.length);
    return joined;
  }
  // Set a byte to a varint continuation or a large length.
  out[Math.floor(rand() * out.length)] = rand() < 0.5 ? 0xff : 0x7f;
  return out;
}

function randomBytes(rand: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
}

/** Runs fn and fails the test on any throw that is not a CodecError. */
function onlyCodecErrors(fn: () => unknown, describeCase: () => string): 'ok' | 'codec-error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof CodecError) {
      expect(err.code).toMatch(/^PROM_RELAY_CODEC_/);
      return 'codec-error';
    }
    throw new Error(`non-CodecError ${String(err)} for ${describeCase()} (seed ${seed})`, { cause: err });
  }
}

describe('fuzz: hostile input yields only CodecError, quickly', () => {
  it('protobuf decoders (RW 1.0 and 2.0) on random and mutated bodies', () => {
    const rand = prng(seed);
    const v1 = encodeWriteRequest(base);
    const v2 = encodeWriteRequestV2(base);
    const started = performance.now();
    const outcomes = { ok: 0, 'codec-error': 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const bodies = [randomBytes(rand), mutate(rand, v1), mutate(rand, v2)];
      for (const body of bodies) {
        const hex = () => Buffer.from(body).toString('hex');
        outcomes[onlyCodecErrors(() => decodeWriteRequest(body), hex)]++;
        outcomes[onlyCodecErrors(() => decodeWriteRequestV2(body), hex)]++;
      }
    }
    // Both paths are exercised: mutations that stay valid and ones that fail.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes['codec-error']).toBeGreaterThan(1000);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('snappy decompress then decode on random and mutated compressed bodies', () => {
    const rand = prng(seed + 1);
    const compressed = compress(encodeWriteRequest(base));
    let failures = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      for (const body of [randomBytes(rand), mutate(rand, compressed)]) {
        const result = onlyCodecErrors(
          () => decodeWriteRequest(decompress(body, { maxSize: 1 << 20 })),
          () => Buffer.from(body).toString('hex'),
        );
        if (result === 'codec-error') failures++;
      }
    }
    expect(failures).toBeGreaterThan(ITERATIONS);
  });

  it('compress output is read back exactly by snappyjs and by decompress (random and repetitive data)', () => {
    const rand = prng(seed + 3);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rand() * 5000) + (i % 10 === 0 ? 70_000 : 0);
      const alphabet = 1 + Math.floor(rand() * 255);
      const raw = Uint8Array.from({ length: n }, () => Math.floor(rand() * alphabet));
      const body = compress(raw);
      expect(Buffer.from(snappyjs.uncompress(body)).equals(Buffer.from(raw))).toBe(true);
      expect(Buffer.from(decompress(body)).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it('the CLI encoder on random JSON shapes: exit 1 with a code, never an exception', () => {
    const rand = prng(seed + 4);
    const atoms = [null, 0, -1, 1.5, 'NaN', '+Inf', 'StaleNaN', 'x', '', true, [], {}];
    const randomValue = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.4) return atoms[Math.floor(rand() * atoms.length)];
      if (r < 0.7) return Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(depth + 1));
      const keys = ['timeseries', 'labels', 'samples', 'value', 'timestamp', 'exemplars', 'histograms', 'metadata', '__name__', 'count'];
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [keys[Math.floor(rand() * keys.length)]!, randomValue(depth + 1)]));
    };
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = { timeseries: [randomValue(1), { labels: { __name__: 'm' }, samples: [randomValue(2)] }] };
      const result = runCli(['encode', ...(i % 3 === 0 ? ['--v2'] : [])], Buffer.from(JSON.stringify(input)));
      if (result.exitCode === 1) {
        expect(result.stderr).toMatch(/^prom-codec: PROM_RELAY_CODEC_[A-Z_]+: /);
        rejected++;
      } else {
        expect(result.exitCode).toBe(0);
      }
    }
    expect(rejected).toBeGreaterThan(ITERATIONS / 2);
  });

  it('exposition parser on mutated text', () => {
    const rand = prng(seed + 2);
    const text = formatExposition([
      { name: 'a_total', type: 'counter', help: 'x\\y', samples: [{ name: 'a_total', labels: { q: 'v"\n' }, value: 1, timestamp: 5 }] },
      { name: 'h', type: 'histogram', samples: [{ name: 'h_bucket', labels: { le: '+Inf' }, value: 2 }, { name: 'h_count', labels: {}, value: 2 }] },
    ]);
    const alphabet = '{}="\\\n ,#aZ_:0.9+-eInfNaT\t';
    let errors = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const chars = [...text];
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) chars[Math.floor(rand() * chars.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
      const mutated = chars.join('');
      try {
        parseExposition(mutated);
      } catch (err) {
        if (!(err instanceof CodecError)) throw new Error(`non-CodecError for ${JSON.stringify(mutated)} (seed ${seed})`, { cause: err });
        expect(err.line).toBeGreaterThanOrEqual(1);
        expect(err.column).toBeGreaterThanOrEqual(1);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(ITERATIONS / 4);
  });
});
