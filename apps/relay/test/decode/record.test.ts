import { compress, encodeWriteRequest, encodeWriteRequestV2 } from '@prom-relay/codec';
import type { WriteRequest } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeRecord } from '../../src/decode/index.js';
import type { KafkaRecord, RecordHeaders } from '../../src/decode/index.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const base: RecordHeaders = { 'content-type': TEXT, 'prom-relay-job': 'nightly', 'prom-relay-producer': 'run-1' };

function record(headers: RecordHeaders, value: Buffer | string | Uint8Array | null): KafkaRecord {
  return {
    topic: 'prom-relay.metrics',
    partition: 3,
    offset: '42',
    key: Buffer.from('job=nightly'),
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value as string),
    headers,
  };
}

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('decodeRecord: headers', () => {
  it('reads every header of the message format (Buffers, as kafkajs gives them)', () => {
    const headers: RecordHeaders = {
      'content-type': Buffer.from(TEXT),
      'prom-relay-job': Buffer.from('nightly'),
      'prom-relay-producer': Buffer.from('run-1'),
      'prom-relay-seq': Buffer.from('17'),
      'prom-relay-grouping': Buffer.from('instance=host-1&region=eu%2Fwest&empty='),
      'prom-relay-temporality': Buffer.from('delta'),
      'prom-relay-op': Buffer.from('add'),
    };
    const batch = decodeRecord(record(headers, 'c_total 1\n'), {});
    expect(batch).toMatchObject({
      producerId: 'run-1',
      sequence: 17,
      job: 'nightly',
      grouping: { instance: 'host-1', region: 'eu/west' },
      temporality: 'delta',
      op: 'add',
      position: { topic: 'prom-relay.metrics', partition: 3, offset: '42' },
    });
    expect(batch.points[0]!.labels).toEqual({ __name__: 'c_total', job: 'nightly', instance: 'host-1', region: 'eu/west' });
  });

  it('defaults: cumulative (or the configured default), push, no seq', () => {
    const batch = decodeRecord(record(base, 'c 1'), {});
    expect(batch.temporality).toBe('cumulative');
    expect(batch.op).toBe('push');
    expect(batch.sequence).toBeUndefined();
    expect(decodeRecord(record(base, 'c 1'), { defaultTemporality: 'delta' }).temporality).toBe('delta');
  });

  it('a delete needs no body and no content-type', () => {
    const { 'content-type': _, ...rest } = base;
    const batch = decodeRecord(record({ ...rest, 'prom-relay-op': 'delete', 'prom-relay-seq': '3' }, null), {});
    expect(batch).toMatchObject({ op: 'delete', sequence: 3, points: [] });
  });

  it('repeated headers must agree', () => {
    expect(decodeRecord(record({ ...base, 'prom-relay-seq': ['4', Buffer.from('4')] }, 'c 1'), {}).sequence).toBe(4);
    expect(decodeError(() => decodeRecord(record({ ...base, 'prom-relay-seq': ['4', '5'] }, 'c 1'), {})).code).toBe('PROM_RELAY_DECODE_HEADER');
  });

  it.each([
    [{ 'prom-relay-job': undefined }, 'PROM_RELAY_DECODE_MISSING_HEADER', /prom-relay-job is required/],
    [{ 'prom-relay-producer': ' ' }, 'PROM_RELAY_DECODE_MISSING_HEADER', /prom-relay-producer is required/],
    [{ 'content-type': undefined }, 'PROM_RELAY_DECODE_MISSING_HEADER', /content-type is required/],
    [{ 'content-type': 'application/json' }, 'PROM_RELAY_DECODE_CONTENT_TYPE', /application\/json/],
    [{ 'content-type': 'text/plain; version=1.0.0' }, 'PROM_RELAY_DECODE_CONTENT_TYPE', /0\.0\.4/],
    [{ 'content-type': 'application/x-protobuf;proto=foo.Bar' }, 'PROM_RELAY_DECODE_CONTENT_TYPE', /unknown proto/],
    [{ 'content-encoding': 'gzip' }, 'PROM_RELAY_DECODE_CONTENT_ENCODING', /gzip/],
    [{ 'prom-relay-seq': '-1' }, 'PROM_RELAY_DECODE_HEADER', /prom-relay-seq/],
    [{ 'prom-relay-seq': '1.5' }, 'PROM_RELAY_DECODE_HEADER', /prom-relay-seq/],
    [{ 'prom-relay-seq': '99999999999999999999' }, 'PROM_RELAY_DECODE_HEADER', /prom-relay-seq/],
    [{ 'prom-relay-temporality': 'monthly' }, 'PROM_RELAY_DECODE_HEADER', /cumulative or delta/],
    [{ 'prom-relay-op': 'replace' }, 'PROM_RELAY_DECODE_HEADER', /push, add or delete/],
    [{ 'prom-relay-grouping': '0bad=x' }, 'PROM_RELAY_DECODE_HEADER', /invalid label name "0bad"/],
    [{ 'prom-relay-grouping': 'job=x' }, 'PROM_RELAY_DECODE_HEADER', /job belongs/],
    [{ 'prom-relay-grouping': 'a=1&a=2' }, 'PROM_RELAY_DECODE_HEADER', /given twice/],
  ])('bad headers %j → %s', (override, code, message) => {
    const headers: RecordHeaders = { ...base, ...override };
    const error = decodeError(() => decodeRecord(record(headers, 'c 1'), {}));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});

describe('decodeRecord: bodies', () => {
  it('text: a bad line is a TEXT error naming line and column', () => {
    const error = decodeError(() => decodeRecord(record(base, 'ok 1\nbad{x="1" 2\n'), {}));
    expect(error).toMatchObject({ code: 'PROM_RELAY_DECODE_TEXT', line: 2 });
    expect(error.column).toBeGreaterThan(0);
  });

  it('text that is not UTF-8 is refused', () => {
    const error = decodeError(() => decodeRecord(record(base, Buffer.from([0x61, 0x20, 0x31, 0xff, 0xfe])), {}));
    expect(error).toMatchObject({ code: 'PROM_RELAY_DECODE_TEXT' });
    expect(error.message).toMatch(/UTF-8/);
  });

  it('a body over maxMessageBytes is TOO_LARGE, as is a snappy body declaring more than maxDecompressedBytes', () => {
    expect(decodeError(() => decodeRecord(record(base, 'c 1\n'.repeat(100)), { maxMessageBytes: 100 })).code).toBe('PROM_RELAY_DECODE_TOO_LARGE');
    const snappy = compress(Buffer.from('c 1\n'.repeat(1000)));
    const error = decodeError(() => decodeRecord(record({ ...base, 'content-encoding': 'snappy' }, Buffer.from(snappy)), { maxDecompressedBytes: 1000 }));
    expect(error.code).toBe('PROM_RELAY_DECODE_TOO_LARGE');
  });

  it('snappy text decodes; corrupt snappy is a SNAPPY error', () => {
    const snappy = Buffer.from(compress(Buffer.from('c_total 5\n')));
    expect(decodeRecord(record({ ...base, 'content-encoding': 'snappy' }, snappy), {}).points[0]!.value).toBe(5);
    const corrupt = Buffer.from([0x20, 0xff, 0xff, 0xff, 0x01]);
    expect(decodeError(() => decodeRecord(record({ ...base, 'content-encoding': 'snappy' }, corrupt), {})).code).toBe('PROM_RELAY_DECODE_SNAPPY');
  });

  it('an empty body is an empty push', () => {
    expect(decodeRecord(record(base, ''), {}).points).toEqual([]);
  });
});

describe('decodeRecord: JSON lines', () => {
  const json = { ...base, 'content-type': 'application/x-ndjson' };
  const lines = (...objs: unknown[]) => objs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n');

  it('decodes the documented examples, flattening histograms and summaries', () => {
    const body = lines(
      { name: 'rows_written_total', type: 'counter', labels: { table: 'users', job: 'ignored' }, value: 120 },
      '',
      { name: 'queue_depth', type: 'gauge', value: 7, temporality: 'delta' },
      { name: 'latency_seconds', type: 'histogram', labels: { op: 'put' }, buckets: { '1': 5, '0.1': 3, '+Inf': 6 }, sum: 2.7, count: 6 },
      { name: 'rpc_seconds', type: 'summary', quantiles: { '0.5': 0.2, '0.99': 0.9 }, sum: 12.5, count: 40 },
      { name: 'weird', value: '+Inf' },
    );
    const points = decodeRecord(record(json, body), {}).points;
    const rows = points.map((p) => [p.family, p.type, p.labels['__name__'], p.labels['le'] ?? p.labels['quantile'] ?? '', p.value, p.temporality ?? '']);
    expect(rows).toEqual([
      ['rows_written_total', 'counter', 'rows_written_total', '', 120, ''],
      ['queue_depth', 'gauge', 'queue_depth', '', 7, 'delta'],
      ['latency_seconds', 'histogram', 'latency_seconds_bucket', '0.1', 3, ''],
      ['latency_seconds', 'histogram', 'latency_seconds_bucket', '1', 5, ''],
      ['latency_seconds', 'histogram', 'latency_seconds_bucket', '+Inf', 6, ''],
      ['latency_seconds', 'histogram', 'latency_seconds_sum', '', 2.7, ''],
      ['latency_seconds', 'histogram', 'latency_seconds_count', '', 6, ''],
      ['rpc_seconds', 'summary', 'rpc_seconds', '0.5', 0.2, ''],
      ['rpc_seconds', 'summary', 'rpc_seconds', '0.99', 0.9, ''],
      ['rpc_seconds', 'summary', 'rpc_seconds_sum', '', 12.5, ''],
      ['rpc_seconds', 'summary', 'rpc_seconds_count', '', 40, ''],
      ['weird', 'untyped', 'weird', '', Infinity, ''],
    ]);
    expect(points[0]!.labels).toEqual({ __name__: 'rows_written_total', table: 'users', job: 'nightly' });
  });

  it('a histogram without +Inf gets one from its count', () => {
    const points = decodeRecord(record(json, lines({ name: 'h', type: 'histogram', buckets: { '1': 2 }, count: 3 })), {}).points;
    expect(points.map((p) => [p.labels['__name__'], p.labels['le'], p.value])).toEqual([
      ['h_bucket', '1', 2],
      ['h_bucket', '+Inf', 3],
      ['h_count', undefined, 3],
    ]);
  });

  it.each([
    ['{"name":"a","value":1}\n{"name":"b",', 2, 'PROM_RELAY_DECODE_JSON', /line 2.*invalid JSON/],
    ['[1,2]', 1, 'PROM_RELAY_DECODE_JSON', /expected a JSON object/],
    ['{"value":1}', 1, 'PROM_RELAY_DECODE_JSON', /"name" must be a string/],
    ['{"name":"1a","value":1}', 1, 'PROM_RELAY_DECODE_LABELS', /invalid metric name/],
    ['{"name":"a","type":"meter","value":1}', 1, 'PROM_RELAY_DECODE_JSON', /"type" must be/],
    ['{"name":"a","type":"gauge"}', 1, 'PROM_RELAY_DECODE_JSON', /"value" is required/],
    ['{"name":"a","value":"7"}', 1, 'PROM_RELAY_DECODE_JSON', /"value" must be a number/],
    ['{"name":"a","value":1,"labels":{"b-c":"x"}}', 1, 'PROM_RELAY_DECODE_LABELS', /invalid label name "b-c"/],
    ['{"name":"a","value":1,"labels":{"b":3}}', 1, 'PROM_RELAY_DECODE_LABELS', /string value/],
    ['{"name":"a","value":1,"temporality":"weekly"}', 1, 'PROM_RELAY_DECODE_JSON', /temporality/],
    ['{"name":"h","type":"histogram","buckets":{"x":1},"count":1}', 1, 'PROM_RELAY_DECODE_JSON', /key "x" is not a number/],
    ['{"name":"h","type":"histogram","buckets":{"1":1}}', 1, 'PROM_RELAY_DECODE_JSON', /"\+Inf" bucket or a "count"/],
  ])('rejects %j at line %i', (body, line, code, message) => {
    const error = decodeError(() => decodeRecord(record(json, body), {}));
    expect(error).toMatchObject({ code, line });
    expect(error.message).toMatch(message);
  });
});

describe('decodeRecord: metadata', () => {
  it('a text body hands on its # HELP lines as batch metadata (with the family type); a body without HELP has none', () => {
    const body = '# HELP jobs_total Jobs finished.\n# TYPE jobs_total counter\njobs_total 3\n# HELP idle Described, never sent.\n';
    const batch = decodeRecord(record(base, body), {});
    expect(batch.points).toHaveLength(1);
    expect(batch.metadata).toEqual([{ metricFamilyName: 'jobs_total', type: 'counter', help: 'Jobs finished.' }]);
    expect(decodeRecord(record(base, '# TYPE jobs_total counter\njobs_total 3\n'), {}).metadata).toBeUndefined();
  });
});

describe('decodeRecord: Remote Write', () => {
  const req: WriteRequest = {
    timeseries: [
      { labels: { __name__: 'c_total', instance: 'body', x: '1' }, samples: [{ value: 1, timestamp: 1 }, { value: 4, timestamp: 2 }] },
      { labels: { __name__: 'lat_bucket', le: '+Inf' }, samples: [{ value: 2, timestamp: 1 }] },
      { labels: { __name__: 'g' }, samples: [{ value: NaN, timestamp: 1, stale: true }] },
      { labels: { __name__: 'c_total', x: '2' }, samples: [{ value: NaN, timestamp: 3, stale: true }] },
    ],
    metadata: [
      { type: 'counter', metricFamilyName: 'c_total' },
      { type: 'histogram', metricFamilyName: 'lat' },
    ],
  };
  const rw = { ...base, 'content-type': 'application/x-protobuf', 'prom-relay-grouping': 'instance=h9' };

  it('v1, raw and snappy: each sample a point, types from metadata, stale markers of counters skipped, of other series marker points, headers override', () => {
    for (const [headers, body] of [
      [rw, Buffer.from(encodeWriteRequest(req))],
      [{ ...rw, 'content-encoding': 'snappy' }, Buffer.from(compress(encodeWriteRequest(req)))],
    ] as const) {
      const points = decodeRecord(record(headers, body), {}).points;
      expect(points.map((p) => [p.family, p.type, p.labels, p.value, p.staleMarker])).toEqual([
        ['c_total', 'counter', { __name__: 'c_total', instance: 'h9', x: '1', job: 'nightly' }, 1, undefined],
        ['c_total', 'counter', { __name__: 'c_total', instance: 'h9', x: '1', job: 'nightly' }, 4, undefined],
        ['lat', 'histogram', { __name__: 'lat_bucket', le: '+Inf', instance: 'h9', job: 'nightly' }, 2, undefined],
        ['g', 'untyped', { __name__: 'g', instance: 'h9', job: 'nightly' }, NaN, true],
      ]);
    }
  });

  it('v2 by its proto parameter', () => {
    const headers = { ...rw, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' };
    const points = decodeRecord(record(headers, Buffer.from(encodeWriteRequestV2(req))), {}).points;
    expect(points.map((p) => [p.labels['__name__'], p.type, p.value, p.staleMarker])).toEqual([
      ['c_total', 'counter', 1, undefined],
      ['c_total', 'counter', 4, undefined],
      ['lat_bucket', 'histogram', 2, undefined],
      ['g', 'untyped', NaN, true],
    ]);
  });

  it('label sets that break the rules are LABELS errors', () => {
    // Hand-built RW 1.0 bytes, since the codec's encoder refuses such label sets.
    const bytes = (...parts: Array<number[] | Buffer>) => Buffer.concat(parts.map((p) => Buffer.from(p)));
    const field = (no: number, body: Buffer) => bytes([(no << 3) | 2, body.length], body);
    const label = (name: string, value: string) => field(1, bytes(field(1, Buffer.from(name)), field(2, Buffer.from(value))));
    const sample = field(2, bytes([0x09], Buffer.alloc(8), [0x10, 0x01]));
    const series = (...labels: Buffer[]) => field(1, bytes(...labels, sample));
    for (const body of [
      series(label('__name__', 'x'), label('bad-name', 'v')),
      series(label('job', 'x')),
      series(label('__name__', '0bad')),
    ]) {
      const error = decodeError(() => decodeRecord(record(rw, body), {}));
      expect(error.code).toBe('PROM_RELAY_DECODE_LABELS');
      expect(error.cause).toBeDefined();
    }
    // The same bytes with a valid label set decode, so the helper builds real requests.
    expect(decodeRecord(record(rw, series(label('__name__', 'x'), label('ok', 'v'))), {}).points).toHaveLength(1);
  });

  it('garbage is a PROTOBUF error; native histograms become points, gauge histograms and custom buckets are UNSUPPORTED', () => {
    expect(decodeError(() => decodeRecord(record(rw, Buffer.from([0x0a, 0xff, 0xff])), {})).code).toBe('PROM_RELAY_DECODE_PROTOBUF');
    const h = { count: 3, sum: 4.5, schema: 0, zeroThreshold: 0.001, zeroCount: 1, negativeSpans: [], negativeDeltas: [], negativeCounts: [], positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [1, 0], positiveCounts: [], resetHint: 'unknown' as const, timestamp: 1 };
    const native = (histogram: typeof h | Record<string, unknown>): WriteRequest => ({ timeseries: [{ labels: { __name__: 'nh' }, samples: [], histograms: [histogram as typeof h] }] });
    const decoded = decodeRecord(record(rw, Buffer.from(encodeWriteRequest(native(h)))), {});
    expect(decoded.points).toHaveLength(1);
    expect(decoded.points[0]).toMatchObject({ family: 'nh', type: 'histogram', value: 0, labels: { __name__: 'nh' }, histogram: { count: 3, positiveDeltas: [1, 0], positiveSpans: [{ offset: 1, length: 2 }] } });
    const refused = (bad: Record<string, unknown>) => decodeError(() => decodeRecord(record(rw, Buffer.from(encodeWriteRequest(native({ ...h, ...bad })))), {}));
    expect(refused({ resetHint: 'gauge' }).code).toBe('PROM_RELAY_DECODE_UNSUPPORTED');
    expect(refused({ resetHint: 'gauge' }).message).toContain('gauge histogram');
    expect(refused({ schema: -53 }).code).toBe('PROM_RELAY_DECODE_UNSUPPORTED');
    // spans for 2 buckets, 3 deltas; a delta that takes a bucket below zero
    expect(refused({ positiveDeltas: [1, 0, 1] }).message).toMatch(/spans hold 2 buckets but 3 deltas/);
    expect(refused({ positiveDeltas: [1, -2] }).code).toBe('PROM_RELAY_DECODE_VALUE');
  });

});
