import { describe, expect, it } from 'vitest';
import {
  CodecError,
  STALE_NAN_BITS,
  compress,
  decodeWriteRequest,
  decompress,
  encodeWriteRequest,
  float64Words,
} from '../../src/index.js';
import type { Histogram, TimeSeries, WriteRequest } from '../../src/index.js';
import { loadProtoRoot } from '../helpers/proto.js';

const histogram: Histogram = {
  count: 12,
  sum: 18.4,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 2,
  negativeSpans: [{ offset: 0, length: 2 }],
  negativeDeltas: [1, -1],
  negativeCounts: [],
  positiveSpans: [
    { offset: -2, length: 2 },
    { offset: 3, length: 1 },
  ],
  positiveDeltas: [2, 1, -3],
  positiveCounts: [],
  resetHint: 'no',
  timestamp: 1_700_000_000_000,
};

const floatHistogram: Histogram = {
  count: 3.5,
  sum: -1.25,
  schema: -2,
  zeroThreshold: 0,
  zeroCount: 0.5,
  negativeSpans: [],
  negativeDeltas: [],
  negativeCounts: [],
  positiveSpans: [{ offset: 1, length: 2 }],
  positiveDeltas: [],
  positiveCounts: [1.5, 1.5],
  resetHint: 'gauge',
  timestamp: 1_700_000_000_001,
  isFloat: true,
};

const full: WriteRequest = {
  timeseries: [
    {
      labels: { __name__: 'http_requests_total', job: 'api', method: 'GET', path: '/ü/✓' },
      samples: [
        { value: 1, timestamp: 1_700_000_000_000 },
        { value: -2.5e300, timestamp: 1_700_000_000_001 },
        { value: NaN, timestamp: 1_700_000_000_002 },
        { value: Infinity, timestamp: 1_700_000_000_003 },
        { value: -Infinity, timestamp: 1_700_000_000_004 },
        { value: 0, timestamp: 0 },
        { value: 2 ** 53, timestamp: -5 },
        { value: NaN, timestamp: 1_700_000_000_005, stale: true },
      ],
      exemplars: [{ labels: { trace_id: 'abc123' }, value: 0.25, timestamp: 1_700_000_000_000 }],
    },
    { labels: { __name__: 'latency', job: 'api' }, samples: [], histograms: [histogram, floatHistogram] },
    { labels: { __name__: 'long', v: 'x'.repeat(300) }, samples: [{ value: 3, timestamp: 9_007_199_254_740_991 }] },
  ],
  metadata: [
    { type: 'counter', metricFamilyName: 'http_requests_total', help: 'Requests.', unit: 'requests' },
    { type: 'histogram', metricFamilyName: 'latency' },
  ],
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}

describe('RW 1.0 encodeWriteRequest / decodeWriteRequest', () => {
  it('round-trips labels, samples, exemplars, histograms and metadata', () => {
    expect(decodeWriteRequest(encodeWriteRequest(full))).toEqual(full);
  });

  it('round-trips through snappy', () => {
    expect(decodeWriteRequest(decompress(compress(encodeWriteRequest(full))))).toEqual(full);
  });

  it('writes the staleness marker bits raw and flags them on decode', () => {
    const body = encodeWriteRequest({ timeseries: [{ labels: { __name__: 'x' }, samples: [{ value: NaN, timestamp: 1, stale: true }] }] });
    const staleBytes = new Uint8Array(8);
    new DataView(staleBytes.buffer).setBigUint64(0, STALE_NAN_BITS, true);
    const hex = Buffer.from(body).toString('hex');
    expect(hex).toContain(Buffer.from(staleBytes).toString('hex'));
    const decoded = decodeWriteRequest(body).timeseries[0]!.samples[0]!;
    expect(decoded.stale).toBe(true);
    expect(decoded.value).toBeNaN();
    // An ordinary NaN is not mistaken for the marker.
    const plain = decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: { __name__: 'x' }, samples: [{ value: NaN, timestamp: 1 }] }] }));
    expect(plain.timeseries[0]!.samples[0]).toEqual({ value: NaN, timestamp: 1 });
    expect(plain.timeseries[0]!.samples[0]!.stale).toBeUndefined();
  });

  it('writes label names sorted whatever the object order', () => {
    const body = encodeWriteRequest({ timeseries: [{ labels: { z: '1', __name__: 'm', a: '2' }, samples: [] }] });
    expect(Object.keys(decodeWriteRequest(body).timeseries[0]!.labels)).toEqual(['__name__', 'a', 'z']);
  });

  it('matches protobufjs reflection over proto/ in both directions', () => {
    const WriteRequestType = loadProtoRoot().lookupType('prometheus.WriteRequest');
    const ours = encodeWriteRequest(full);
    const viaReflection = WriteRequestType.toObject(WriteRequestType.decode(ours), { longs: Number, enums: String, defaults: true });
    const ts0 = viaReflection.timeseries[0];
    expect(ts0.labels).toEqual([
      { name: '__name__', value: 'http_requests_total' },
      { name: 'job', value: 'api' },
      { name: 'method', value: 'GET' },
      { name: 'path', value: '/ü/✓' },
    ]);
    expect(ts0.samples.map((s: { value: number }) => s.value)).toEqual([1, -2.5e300, NaN, Infinity, -Infinity, 0, 2 ** 53, NaN]);
    expect(ts0.samples.map((s: { timestamp: number }) => s.timestamp)).toEqual([
      1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002, 1_700_000_000_003, 1_700_000_000_004, 0, -5, 1_700_000_000_005,
    ]);
    expect(ts0.exemplars[0]).toMatchObject({ labels: [{ name: 'trace_id', value: 'abc123' }], value: 0.25, timestamp: 1_700_000_000_000 });
    const h = viaReflection.timeseries[1].histograms;
    expect(h[0]).toMatchObject({
      countInt: 12, sum: 18.4, schema: 1, zeroThreshold: 0.001, zeroCountInt: 2, resetHint: 'NO',
      negativeDeltas: [1, -1], positiveDeltas: [2, 1, -3], timestamp: 1_700_000_000_000,
      positiveSpans: [{ offset: -2, length: 2 }, { offset: 3, length: 1 }],
    });
    expect(h[1]).toMatchObject({ countFloat: 3.5, zeroCountFloat: 0.5, schema: -2, positiveCounts: [1.5, 1.5], resetHint: 'GAUGE' });
    expect(viaReflection.metadata).toEqual([
      { type: 'COUNTER', metricFamilyName: 'http_requests_total', help: 'Requests.', unit: 'requests' },
      { type: 'HISTOGRAM', metricFamilyName: 'latency', help: '', unit: '' },
    ]);

    // And protobufjs-encoded bytes decode to the same request with our reader.
    const message = WriteRequestType.fromObject({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'x' }],
          samples: [{ value: 1.5, timestamp: 1_700_000_000_000 }, { value: -3, timestamp: -1 }],
          exemplars: [{ labels: [{ name: 'trace_id', value: 't' }], value: 2, timestamp: 5 }],
          histograms: [{ countInt: 12, sum: 18.4, schema: 1, zeroThreshold: 0.001, zeroCountInt: 2, negativeSpans: [{ offset: 0, length: 2 }], negativeDeltas: [1, -1], positiveSpans: [{ offset: -2, length: 2 }, { offset: 3, length: 1 }], positiveDeltas: [2, 1, -3], resetHint: 2, timestamp: 1_700_000_000_000 }],
        },
      ],
      metadata: [{ type: 1, metricFamilyName: 'up', help: 'h' }],
    });
    expect(decodeWriteRequest(WriteRequestType.encode(message).finish())).toEqual({
      timeseries: [
        {
          labels: { __name__: 'up', job: 'x' },
          samples: [{ value: 1.5, timestamp: 1_700_000_000_000 }, { value: -3, timestamp: -1 }],
          exemplars: [{ labels: { trace_id: 't' }, value: 2, timestamp: 5 }],
          histograms: [histogram],
        },
      ],
      metadata: [{ type: 'counter', metricFamilyName: 'up', help: 'h' }],
    });
  });

  it('skips unknown fields, as protobuf requires', () => {
    const body = encodeWriteRequest({ timeseries: [{ labels: { __name__: 'x' }, samples: [{ value: 1, timestamp: 2 }] }] });
    // Field 15 (varint 7), field 14 (fixed32), field 13 (bytes "ab") appended at the top level.
    const extra = new Uint8Array([0x78, 0x07, 0x75, 1, 2, 3, 4, 0x6a, 2, 0x61, 0x62]);
    const joined = new Uint8Array(body.length + extra.length);
    joined.set(body);
    joined.set(extra, body.length);
    expect(decodeWriteRequest(joined)).toEqual(decodeWriteRequest(body));
  });

  it('rejects truncated bodies with PROM_RELAY_CODEC_TRUNCATED and an offset', () => {
    const body = encodeWriteRequest(full);
    for (const cut of [1, 2, 10, body.length - 1]) {
      let err: unknown;
      try {
        decodeWriteRequest(body.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect(['PROM_RELAY_CODEC_TRUNCATED', 'PROM_RELAY_CODEC_MALFORMED']).toContain((err as CodecError).code);
      expect(typeof (err as CodecError).offset).toBe('number');
    }
    expect(codeOf(() => decodeWriteRequest(new Uint8Array([0x0a, 0x05, 0x0a])))).toBe('PROM_RELAY_CODEC_TRUNCATED');
  });

  it('rejects wrong wire types, field number 0, overlong varints and duplicate label names', () => {
    expect(codeOf(() => decodeWriteRequest(new Uint8Array([0x08, 0x01])))).toBe('PROM_RELAY_CODEC_INVALID_WIRE_TYPE');
    expect(codeOf(() => decodeWriteRequest(new Uint8Array([0x00, 0x01])))).toBe('PROM_RELAY_CODEC_MALFORMED');
    expect(codeOf(() => decodeWriteRequest(new Uint8Array([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])))).toBe(
      'PROM_RELAY_CODEC_MALFORMED',
    );
    expect(codeOf(() => decodeWriteRequest(new Uint8Array([0x0b])))).toBe('PROM_RELAY_CODEC_INVALID_WIRE_TYPE');
    // Series with two labels named "a".
    const dup = new Uint8Array([0x0a, 0x00, 0x0a, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x03, 0x0a, 0x01, 0x61]);
    dup[1] = dup.length - 2;
    expect(codeOf(() => decodeWriteRequest(dup))).toBe('PROM_RELAY_CODEC_LABELS');
  });

  it('rejects input of the wrong shape with PROM_RELAY_CODEC_INVALID_INPUT', () => {
    expect(codeOf(() => encodeWriteRequest({} as WriteRequest))).toBe('PROM_RELAY_CODEC_INVALID_INPUT');
    expect(codeOf(() => encodeWriteRequest({ timeseries: [{ labels: { a: 1 as unknown as string }, samples: [] }] }))).toBe(
      'PROM_RELAY_CODEC_INVALID_INPUT',
    );
    expect(codeOf(() => encodeWriteRequest({ timeseries: [{ labels: {}, samples: [{ value: 1, timestamp: 1.5 }] }] }))).toBe(
      'PROM_RELAY_CODEC_INVALID_INPUT',
    );
    expect(codeOf(() => encodeWriteRequest({ timeseries: [{ labels: {}, samples: [{ value: '1' as unknown as number, timestamp: 1 }] }] }))).toBe(
      'PROM_RELAY_CODEC_INVALID_INPUT',
    );
    expect(codeOf(() => encodeWriteRequest({ timeseries: [null as unknown as TimeSeries] }))).toBe('PROM_RELAY_CODEC_INVALID_INPUT');
    expect(codeOf(() => encodeWriteRequest({ timeseries: [{ labels: {} } as TimeSeries] }))).toBe('PROM_RELAY_CODEC_INVALID_INPUT');
  });

  it('exposes the float bits helper used to tell markers apart', () => {
    expect(float64Words(1)).toEqual([0, 0x3ff00000]);
  });
});
