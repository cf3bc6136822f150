import snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  compress,
  decodeWriteRequest,
  decodeWriteRequestSnappy,
  decodeWriteRequestV2,
  decodeWriteRequestV2Snappy,
  encodeWriteRequest,
  encodeWriteRequestSnappy,
  encodeWriteRequestV2,
  encodeWriteRequestV2Snappy,
} from '../../src/index.js';
import type { WriteRequest } from '../../src/index.js';

function request(n: number, variant: string): WriteRequest {
  return {
    timeseries: Array.from({ length: n }, (_, i) => ({
      labels: { __name__: 'jobs_total', instance: `h-${i % 7}`, job: variant, path: `/p/${i}/${'x'.repeat(i % 40)}`, zone: 'ü' },
      samples: [{ value: i / 3, timestamp: 1_700_000_000_000 + i }, { value: NaN, timestamp: 1_700_000_000_500 + i, stale: i % 2 === 0 }],
    })),
  };
}

describe('one-step snappy encode/decode', () => {
  it('encodeWriteRequestSnappy gives exactly compress(encodeWriteRequest(req)), readable by snappyjs', () => {
    for (const [n, variant] of [[0, 'a'], [1, 'b'], [500, 'c'], [3000, 'd']] as const) {
      const req = request(n, variant);
      const body = encodeWriteRequestSnappy(req);
      expect(Buffer.from(body).equals(Buffer.from(compress(encodeWriteRequest(req))))).toBe(true);
      expect(Buffer.from(snappyjs.uncompress(body)).equals(Buffer.from(encodeWriteRequest(req)))).toBe(true);
      expect(decodeWriteRequestSnappy(body)).toEqual(decodeWriteRequest(encodeWriteRequest(req)));
    }
  });

  it('the V2 variants agree with their two-step forms', () => {
    const req = request(800, 'v2');
    const body = encodeWriteRequestV2Snappy(req);
    expect(Buffer.from(snappyjs.uncompress(body)).equals(Buffer.from(encodeWriteRequestV2(req)))).toBe(true);
    expect(decodeWriteRequestV2Snappy(body)).toEqual(decodeWriteRequestV2(encodeWriteRequestV2(req)));
    expect(decodeWriteRequestV2Snappy(body).timeseries[4]!.labels).toEqual(req.timeseries[4]!.labels);
  });

  it('results do not share memory with the scratch buffers of later calls', () => {
    const first = encodeWriteRequestSnappy(request(50, 'first'));
    const copy = Uint8Array.from(first);
    encodeWriteRequestSnappy(request(60, 'second'));
    expect(Buffer.from(first).equals(Buffer.from(copy))).toBe(true);
    const decoded = decodeWriteRequestSnappy(first);
    decodeWriteRequestSnappy(encodeWriteRequestSnappy(request(70, 'third')));
    expect(decoded.timeseries[3]!.labels['job']).toBe('first');
  });

  it('decodeWriteRequestSnappy applies maxSize and reports bad bodies as CodecError', () => {
    const body = encodeWriteRequestSnappy(request(100, 'm'));
    expect(() => decodeWriteRequestSnappy(body, { maxSize: 100 })).toThrow(CodecError);
    expect(() => decodeWriteRequestSnappy(body.subarray(0, body.length - 2))).toThrow(CodecError);
  });

  it('label caches stay correct when a value repeats under another name and when values change', () => {
    const a: WriteRequest = { timeseries: [{ labels: { __name__: 'm', a: 'same', b: 'same' }, samples: [] }] };
    expect(decodeWriteRequestSnappy(encodeWriteRequestSnappy(a))).toEqual(a);
    const labels = { __name__: 'm', job: 'one' };
    const req: WriteRequest = { timeseries: [{ labels, samples: [] }] };
    expect(decodeWriteRequestSnappy(encodeWriteRequestSnappy(req)).timeseries[0]!.labels).toEqual({ __name__: 'm', job: 'one' });
    labels.job = 'two';
    expect(decodeWriteRequestSnappy(encodeWriteRequestSnappy(req)).timeseries[0]!.labels).toEqual({ __name__: 'm', job: 'two' });
  });
});
