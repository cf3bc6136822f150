import { describe, expect, it } from 'vitest';
import { CodecError, decodeWriteRequestV2, encodeWriteRequest, encodeWriteRequestV2 } from '../../src/index.js';
import type { WriteRequest } from '../../src/index.js';
import { loadProtoRoot } from '../helpers/proto.js';

const req: WriteRequest = {
  timeseries: [
    {
      labels: { __name__: 'http_requests_total', job: 'api', path: '/ü' },
      samples: [
        { value: 1, timestamp: 1_700_000_000_000 },
        { value: NaN, timestamp: 1_700_000_000_001, stale: true },
        { value: -Infinity, timestamp: 1_700_000_000_002 },
      ],
      exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestamp: 1_700_000_000_000 }],
    },
    { labels: { job: 'api', __name__: 'http_requests_total', path: '/b' }, samples: [{ value: 2, timestamp: 1_700_000_000_000 }] },
    {
      labels: { __name__: 'lat', job: 'api' },
      samples: [],
      histograms: [
        {
          count: 4, sum: 2, schema: 0, zeroThreshold: 0, zeroCount: 0,
          negativeSpans: [], negativeDeltas: [], negativeCounts: [],
          positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 1], positiveCounts: [],
          resetHint: 'yes', timestamp: 1_700_000_000_000,
        },
      ],
    },
  ],
  metadata: [
    { type: 'counter', metricFamilyName: 'http_requests_total', help: 'Requests.', unit: 'requests' },
    { type: 'histogram', metricFamilyName: 'lat' },
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

describe('RW 2.0 encodeWriteRequestV2 / decodeWriteRequestV2', () => {
  it('round-trips to plain label sets, samples (stale flag too), exemplars, histograms and metadata', () => {
    const back = decodeWriteRequestV2(encodeWriteRequestV2(req));
    expect(back.timeseries[1]!.labels).toEqual({ __name__: 'http_requests_total', job: 'api', path: '/b' });
    expect(back).toEqual(req);
    expect(back.timeseries[0]!.samples[1]!.stale).toBe(true);
  });

  it('builds a de-duplicated symbols table starting with "" (checked with protobufjs over proto/)', () => {
    const Request = loadProtoRoot().lookupType('io.prometheus.write.v2.Request');
    const decoded = Request.toObject(Request.decode(encodeWriteRequestV2(req)), { longs: Number, enums: String, defaults: true });
    const symbols: string[] = decoded.symbols;
    expect(symbols[0]).toBe('');
    expect(new Set(symbols).size).toBe(symbols.length);
    for (const s of ['__name__', 'http_requests_total', 'job', 'api', 'path', '/ü', '/b', 'trace_id', 'abc', 'Requests.', 'requests']) {
      expect(symbols).toContain(s);
    }
    const ts0 = decoded.timeseries[0];
    const names = ts0.labelsRefs.filter((_: number, i: number) => i % 2 === 0).map((i: number) => symbols[i]);
    expect(names).toEqual(['__name__', 'job', 'path']);
    expect(ts0.labelsRefs.map((i: number) => symbols[i])).toEqual(['__name__', 'http_requests_total', 'job', 'api', 'path', '/ü']);
    expect(ts0.metadata).toMatchObject({ type: 'METRIC_TYPE_COUNTER' });
    expect(symbols[ts0.metadata.helpRef]).toBe('Requests.');
    expect(symbols[ts0.metadata.unitRef]).toBe('requests');
    expect(ts0.samples.map((s: { timestamp: number }) => s.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]);
    expect(decoded.timeseries[2].histograms[0]).toMatchObject({ countInt: 4, positiveDeltas: [1, 1], resetHint: 'RESET_HINT_YES' });

    // protobufjs-encoded request (series before symbols in the object; field order on the wire is protobufjs's) decodes with ours.
    const bytes = Request.encode(
      Request.fromObject({
        symbols: ['', '__name__', 'up', 'job', 'x', 'help me'],
        timeseries: [{ labelsRefs: [1, 2, 3, 4], samples: [{ value: 5, timestamp: 7, startTimestamp: 3 }], metadata: { type: 2, helpRef: 5 } }],
      }),
    ).finish();
    expect(decodeWriteRequestV2(bytes)).toEqual({
      timeseries: [{ labels: { __name__: 'up', job: 'x' }, samples: [{ value: 5, timestamp: 7, startTimestamp: 3 }] }],
      metadata: [{ type: 'gauge', metricFamilyName: 'up', help: 'help me' }],
    });
  });

  it('is smaller than RW 1.0 for repeated label sets', () => {
    const many: WriteRequest = {
      timeseries: Array.from({ length: 200 }, (_, i) => ({
        labels: { __name__: 'requests_total', instance: `host-${i % 10}:9100`, job: 'api', status: String(200 + (i % 5)) },
        samples: [{ value: i, timestamp: 1_700_000_000_000 }],
      })),
    };
    expect(encodeWriteRequestV2(many).length).toBeLessThan(encodeWriteRequest(many).length / 2);
  });

  it('rejects references outside the symbols table and odd labels_refs', () => {
    const Request = loadProtoRoot().lookupType('io.prometheus.write.v2.Request');
    const outside = Request.encode(Request.fromObject({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1, 9] }] })).finish();
    expect(codeOf(() => decodeWriteRequestV2(outside))).toBe('PROM_RELAY_CODEC_SYMBOL_REF');
    const odd = Request.encode(Request.fromObject({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1] }] })).finish();
    expect(codeOf(() => decodeWriteRequestV2(odd))).toBe('PROM_RELAY_CODEC_SYMBOL_REF');
    const dup = Request.encode(Request.fromObject({ symbols: ['', 'a', 'b'], timeseries: [{ labelsRefs: [1, 2, 1, 1] }] })).finish();
    expect(codeOf(() => decodeWriteRequestV2(dup))).toBe('PROM_RELAY_CODEC_LABELS');
    const badHelp = Request.encode(Request.fromObject({ symbols: [''], timeseries: [{ metadata: { type: 1, helpRef: 4 } }] })).finish();
    expect(codeOf(() => decodeWriteRequestV2(badHelp))).toBe('PROM_RELAY_CODEC_SYMBOL_REF');
  });

  it('writes start timestamps where the current spec puts them: Sample field 3, Histogram field 17 (checked with protobufjs over proto/)', () => {
    const started = 1_699_999_000_000;
    const withStart: WriteRequest = {
      timeseries: [
        {
          labels: { __name__: 'jobs_total', job: 'a' },
          samples: [
            { value: 3, timestamp: 1_700_000_000_000, startTimestamp: started },
            { value: NaN, timestamp: 1_700_000_000_001, stale: true, startTimestamp: started },
            { value: 4, timestamp: 1_700_000_000_002 },
          ],
        },
        {
          labels: { __name__: 'lat', job: 'a' },
          samples: [],
          histograms: [{ ...req.timeseries[2]!.histograms![0]!, startTimestamp: started - 1 }],
        },
      ],
    };
    const bytes = encodeWriteRequestV2(withStart);
    const Request = loadProtoRoot().lookupType('io.prometheus.write.v2.Request');
    const decoded = Request.toObject(Request.decode(bytes), { longs: Number, defaults: true });
    expect(decoded.timeseries[0].samples.map((s: { startTimestamp: number }) => s.startTimestamp)).toEqual([started, started, 0]);
    expect(decoded.timeseries[1].histograms[0].startTimestamp).toBe(started - 1);
    // Our decoder reads them back (0 = not set = absent), and protobufjs-encoded ones too.
    expect(decodeWriteRequestV2(bytes)).toEqual(withStart);
    const theirs = Request.encode(Request.fromObject(decoded)).finish();
    expect(decodeWriteRequestV2(theirs)).toEqual(withStart);
    // Without start timestamps not a byte changes.
    const without: WriteRequest = {
      timeseries: withStart.timeseries.map((t) => ({
        ...t,
        samples: t.samples.map(({ startTimestamp: _, ...s }) => s),
        ...(t.histograms ? { histograms: t.histograms.map(({ startTimestamp: _, ...h }) => h) } : {}),
      })),
    };
    expect(bytes.length).toBeGreaterThan(encodeWriteRequestV2(without).length);
    expect(Request.toObject(Request.decode(encodeWriteRequestV2(without)), { longs: Number, defaults: true }).timeseries[0].samples[0].startTimestamp).toBe(0);
  });

  it('leaves start timestamps out of RW 1.0 (its Sample and Histogram have no such field) and refuses non-integers', () => {
    const series = { labels: { __name__: 'jobs_total' }, samples: [{ value: 1, timestamp: 10, startTimestamp: 5 }] };
    const plainSeries = { labels: { __name__: 'jobs_total' }, samples: [{ value: 1, timestamp: 10 }] };
    expect(Buffer.from(encodeWriteRequest({ timeseries: [series] })).equals(Buffer.from(encodeWriteRequest({ timeseries: [plainSeries] })))).toBe(true);
    expect(codeOf(() => encodeWriteRequestV2({ timeseries: [{ ...series, samples: [{ value: 1, timestamp: 10, startTimestamp: 1.5 }] }] }))).toBe(
      'PROM_RELAY_CODEC_INVALID_INPUT',
    );
    const h = { ...req.timeseries[2]!.histograms![0]!, startTimestamp: Number.NaN };
    expect(codeOf(() => encodeWriteRequestV2({ timeseries: [{ labels: { __name__: 'lat' }, samples: [], histograms: [h] }] }))).toBe('PROM_RELAY_CODEC_INVALID_INPUT');
  });

  it('skips TimeSeries field 6 (reserved; created_timestamp in the experimental drafts) from older senders', () => {
    const Request = loadProtoRoot().lookupType('io.prometheus.write.v2.Request');
    const body = Request.encode(Request.fromObject({ symbols: ['', '__name__', 'up'], timeseries: [{ labelsRefs: [1, 2], samples: [{ value: 1, timestamp: 2 }] }] })).finish();
    // Append field 6 (varint 3) inside the series: tag 0x30. The series is the last field, so patch its length.
    const seriesAt = body.lastIndexOf(0x2a);
    const patched = Buffer.concat([Buffer.from(body.subarray(0, seriesAt + 1)), Buffer.from([body[seriesAt + 1]! + 2]), Buffer.from(body.subarray(seriesAt + 2)), Buffer.from([0x30, 0x03])]);
    expect(decodeWriteRequestV2(patched)).toEqual({ timeseries: [{ labels: { __name__: 'up' }, samples: [{ value: 1, timestamp: 2 }] }] });
  });

  it('reads a RW 1.0 body as an empty request (fields 1-3 are reserved in 2.0)', () => {
    expect(decodeWriteRequestV2(encodeWriteRequest(req))).toEqual({ timeseries: [] });
  });
});
