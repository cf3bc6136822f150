// Exemplars of the protobuf delimited format (client_model metrics.proto: Counter.exemplar = 2, Bucket.exemplar = 3,
// Histogram.exemplars = 16, Exemplar {label = 1, value = 2, timestamp = 3 (google.protobuf.Timestamp)}). Before, the
// decoder skipped those fields and the ingest turned such a push into text exposition 0.0.4, which has no exemplars:
// every exemplar a Go job pushed was lost without a count. protobufjs is the independent encoder.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/decode/index.js';
import type { KafkaRecord } from '../../src/decode/index.js';
import { METRIC_FAMILY_CONTENT_TYPE, readMetricFamilies } from '../../src/decode/metric-family.js';
import { metricFamiliesMessageBody } from '../../src/ingest/metric-family-proto.js';
import type { InputPoint } from '../../src/model.js';

const root = protobuf.Root.fromJSON({
  nested: {
    Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Exemplar: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, value: { type: 'double', id: 2 }, timestamp: { type: 'Timestamp', id: 3 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Counter: { fields: { value: { type: 'double', id: 1 }, exemplar: { type: 'Exemplar', id: 2 }, createdTimestamp: { type: 'Timestamp', id: 3 } } },
    Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 }, exemplar: { type: 'Exemplar', id: 3 } } },
    BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
    Histogram: {
      fields: {
        sampleCount: { type: 'uint64', id: 1 },
        sampleSum: { type: 'double', id: 2 },
        bucket: { rule: 'repeated', type: 'Bucket', id: 3 },
        schema: { type: 'sint32', id: 5 },
        zeroThreshold: { type: 'double', id: 6 },
        zeroCount: { type: 'uint64', id: 7 },
        positiveSpan: { rule: 'repeated', type: 'BucketSpan', id: 12 },
        positiveDelta: { rule: 'repeated', type: 'sint64', id: 13 },
        exemplars: { rule: 'repeated', type: 'Exemplar', id: 16 },
      },
    },
    Metric: {
      fields: {
        label: { rule: 'repeated', type: 'LabelPair', id: 1 },
        gauge: { type: 'Gauge', id: 2 },
        counter: { type: 'Counter', id: 3 },
        histogram: { type: 'Histogram', id: 7 },
      },
    },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');

function delimited(families: object[]): Buffer {
  return Buffer.concat(families.map((f) => Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish())));
}

/** An exemplar at `ms` (whole milliseconds plus 0.7 ms: the format has nanoseconds; Prometheus reads milliseconds). */
function exemplar(trace: string, value: number, ms: number, extra: Record<string, string> = {}) {
  const label = [{ name: 'trace_id', value: trace }, ...Object.entries(extra).map(([name, v]) => ({ name, value: v }))];
  return { label, value, timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 + 700_000 } };
}

function record(value: Buffer): KafkaRecord {
  const headers = { 'content-type': METRIC_FAMILY_CONTENT_TYPE, 'prom-relay-job': 'go-job', 'prom-relay-grouping': 'instance=h1', 'prom-relay-producer': 'p' };
  return { topic: 't', partition: 0, offset: '0', key: null, value, headers };
}

const name = (p: InputPoint) => `${p.labels['__name__']}${p.labels['le'] !== undefined ? `{le=${p.labels['le']}}` : ''}`;

describe('protobuf delimited exemplars', () => {
  const now = Date.now() - (Date.now() % 1000);
  const body = delimited([
    { name: 'g_depth', type: 1, metric: [{ gauge: { value: 3 } }] },
    {
      name: 'rows_total',
      type: 0,
      metric: [
        { label: [{ name: 'table', value: 'users' }], counter: { value: 12, exemplar: exemplar('c1', 5, now - 3000), createdTimestamp: { seconds: 1 } } },
        { label: [{ name: 'table', value: 'orders' }], counter: { value: 1 } },
      ],
    },
    {
      name: 'lat_seconds',
      type: 4,
      metric: [
        {
          histogram: {
            sampleCount: 4,
            sampleSum: 2.6,
            bucket: [
              { cumulativeCount: 1, upperBound: 0.1, exemplar: exemplar('b1', 0.05, now - 2000) },
              { cumulativeCount: 3, upperBound: 1 },
              // The Go client adds the +Inf bucket when it holds an exemplar.
              { cumulativeCount: 4, upperBound: Infinity, exemplar: exemplar('b3', 2, now - 1000) },
            ],
          },
        },
      ],
    },
    {
      name: 'native_seconds',
      type: 4,
      metric: [
        {
          histogram: {
            sampleCount: 3,
            sampleSum: 1.5,
            schema: 0,
            zeroThreshold: 2 ** -128,
            positiveSpan: [{ offset: 0, length: 1 }],
            positiveDelta: [3],
            exemplars: [exemplar('n-new', 0.5, now - 100), exemplar('n-old', 0.4, now - 900)],
          },
        },
      ],
    },
  ]);

  it('a counter exemplar rides on the counter, a bucket exemplar on its _bucket, a native histogram its latest', () => {
    const dropped: number[] = [];
    const batch = decodeRecord(record(body), { onExemplarsDropped: (n) => dropped.push(n) });
    const withExemplar = batch.points.filter((p) => p.exemplar !== undefined).map((p) => [name(p), p.labels['table'], p.exemplar]);
    expect(withExemplar).toEqual([
      ['rows_total', 'users', { labels: { trace_id: 'c1' }, value: 5, timestamp: now - 3000 }],
      ['lat_seconds_bucket{le=0.1}', undefined, { labels: { trace_id: 'b1' }, value: 0.05, timestamp: now - 2000 }],
      ['lat_seconds_bucket{le=+Inf}', undefined, { labels: { trace_id: 'b3' }, value: 2, timestamp: now - 1000 }],
      ['native_seconds', undefined, { labels: { trace_id: 'n-new' }, value: 0.5, timestamp: now - 100 }],
    ]);
    // The values are as before: exemplars change nothing else.
    expect(batch.points.map((p) => [name(p), p.value])).toEqual([
      ['g_depth', 3],
      ['rows_total', 12],
      ['rows_total', 1],
      ['lat_seconds_bucket{le=0.1}', 1],
      ['lat_seconds_bucket{le=1}', 3],
      ['lat_seconds_bucket{le=+Inf}', 4],
      ['lat_seconds_sum', 2.6],
      ['lat_seconds_count', 4],
      ['native_seconds', 0],
    ]);
    expect(batch.points.at(-1)!.histogram?.count).toBe(3);
    expect(dropped).toEqual([]);
  });

  it('the ingest keeps such a push in the protobuf format (text exposition 0.0.4 has no exemplars)', () => {
    // No native histogram (those alone already kept it so): a counter's and a classic bucket's exemplars.
    for (const family of [
      { name: 'rows_total', type: 0, metric: [{ counter: { value: 1, exemplar: exemplar('c', 1, now) } }] },
      { name: 'lat_seconds', type: 4, metric: [{ histogram: { sampleCount: 1, sampleSum: 1, bucket: [{ cumulativeCount: 1, upperBound: 1, exemplar: exemplar('b', 1, now) }] } }] },
    ]) {
      const withExemplar = delimited([family]);
      expect(metricFamiliesMessageBody(withExemplar)).toEqual({ body: withExemplar, contentType: METRIC_FAMILY_CONTENT_TYPE });
    }
    const plain = delimited([{ name: 'rows_total', type: 0, metric: [{ counter: { value: 1 } }] }]);
    expect(metricFamiliesMessageBody(plain).contentType).toBeUndefined();
  });

  it('exemplars over the limits are left out and counted as metric-family; the push is applied without them', () => {
    const long = 'x'.repeat(129 - 'trace_id'.length);
    const ahead = Date.now() + 11 * 60_000;
    const over = delimited([
      {
        name: 'rows_total',
        type: 0,
        metric: [
          { label: [{ name: 'table', value: 'a' }], counter: { value: 1, exemplar: exemplar(long, 1, now) } },
          { label: [{ name: 'table', value: 'b' }], counter: { value: 2, exemplar: exemplar('ahead', 1, ahead) } },
          { label: [{ name: 'table', value: 'c' }], counter: { value: 3, exemplar: exemplar('x'.repeat(128 - 'trace_id'.length), 1, now) } },
        ],
      },
      {
        name: 'native_seconds',
        type: 4,
        metric: [
          {
            histogram: {
              sampleCount: 1,
              sampleSum: 1,
              schema: 0,
              zeroThreshold: 2 ** -128,
              positiveSpan: [{ offset: 0, length: 1 }],
              positiveDelta: [1],
              exemplars: [exemplar('fits', 1, now - 5), exemplar(long, 1, now)],
            },
          },
        ],
      },
    ]);
    const dropped: [number, string][] = [];
    const batch = decodeRecord(record(over), { onExemplarsDropped: (n, format) => dropped.push([n, format]) });
    expect(batch.points.map((p) => p.value)).toEqual([1, 2, 3, 0]);
    expect(batch.points.map((p) => p.exemplar?.labels['trace_id'])).toEqual([undefined, undefined, 'x'.repeat(120), 'fits']);
    expect(dropped).toEqual([[3, 'metric-family']]);
  });

  it('a native histogram without exemplars of its own takes its classic buckets\' latest (as Prometheus reads them)', () => {
    const both = delimited([
      {
        name: 'save_seconds',
        type: 4,
        metric: [
          {
            histogram: {
              sampleCount: 2,
              sampleSum: 0.3,
              bucket: [
                { cumulativeCount: 1, upperBound: 0.1, exemplar: exemplar('late', 0.05, now - 10) },
                { cumulativeCount: 2, upperBound: 1, exemplar: exemplar('early', 0.25, now - 500) },
              ],
              schema: 0,
              zeroThreshold: 2 ** -128,
              positiveSpan: [{ offset: -4, length: 1 }, { offset: 1, length: 1 }],
              positiveDelta: [1, 0],
            },
          },
        ],
      },
    ]);
    const points = decodeRecord(record(both), {}).points;
    expect(points.filter((p) => p.exemplar !== undefined).map((p) => [name(p), p.exemplar!.labels['trace_id']])).toEqual([
      ['save_seconds_bucket{le=0.1}', 'late'],
      ['save_seconds_bucket{le=1}', 'early'],
      ['save_seconds', 'late'],
    ]);
  });

  it("a native histogram's lone +Inf bucket (where the Go client puts the exemplar of one without classic buckets) is no classic series", () => {
    const nativeOnly = (bucketExemplar: object, own: object[] | undefined) =>
      delimited([
        {
          name: 'load_seconds',
          type: 4,
          metric: [
            {
              histogram: {
                sampleCount: 1,
                sampleSum: 0.25,
                bucket: [{ cumulativeCount: 1, upperBound: Infinity, exemplar: bucketExemplar }],
                schema: 3,
                zeroThreshold: 2 ** -128,
                positiveSpan: [{ offset: -16, length: 1 }],
                positiveDelta: [1],
                ...(own !== undefined ? { exemplars: own } : {}),
              },
            },
          ],
        },
      ]);
    const e = exemplar('n1', 0.25, now - 7);
    const dropped: number[] = [];
    let points = decodeRecord(record(nativeOnly(e, [e])), { onExemplarsDropped: (n) => dropped.push(n) }).points;
    expect(points.map((p) => [name(p), p.histogram?.count, p.exemplar?.labels['trace_id']])).toEqual([['load_seconds', 1, 'n1']]);
    // Without Histogram.exemplars the bucket's is the native histogram's; one over the limits is counted once.
    points = decodeRecord(record(nativeOnly(e, undefined)), {}).points;
    expect(points.map((p) => [name(p), p.exemplar?.labels['trace_id']])).toEqual([['load_seconds', 'n1']]);
    points = decodeRecord(record(nativeOnly(exemplar('x'.repeat(121), 1, now), undefined)), { onExemplarsDropped: (n) => dropped.push(n) }).points;
    expect(points.map((p) => [name(p), p.exemplar])).toEqual([['load_seconds', undefined]]);
    expect(dropped).toEqual([1]);
  });

  it('an exemplar without a timestamp has none (the aggregate stamps it with its push); an empty label value is no label', () => {
    const body = delimited([
      { name: 'rows_total', type: 0, metric: [{ counter: { value: 1, exemplar: { label: [{ name: 'trace_id', value: 't' }, { name: 'span_id', value: '' }], value: 1 } } }] },
    ]);
    expect(decodeRecord(record(body), {}).points[0]!.exemplar).toEqual({ labels: { trace_id: 't' }, value: 1 });
  });

  it('an exemplar whose label name breaks the Prometheus rules (the Go client takes UTF-8 names) or comes twice is dropped and counted; the push is applied', () => {
    for (const label of [
      [{ name: 'trace.id', value: 't' }],
      [{ name: 'trace-id', value: 't' }],
      [
        { name: 'trace_id', value: 't' },
        { name: 'trace_id', value: 'u' },
      ],
    ]) {
      const bad = delimited([{ name: 'rows_total', type: 0, metric: [{ counter: { value: 5, exemplar: { label, value: 1 } } }] }]);
      expect(readMetricFamilies(bad).exemplars, JSON.stringify(label)).toHaveLength(1);
      // the ingest keeps such a push as it came, so the consumer counts the drop
      expect(metricFamiliesMessageBody(bad).contentType).toBe(METRIC_FAMILY_CONTENT_TYPE);
      const dropped: [number, string][] = [];
      const batch = decodeRecord(record(bad), { onExemplarsDropped: (n, format) => dropped.push([n, format]) });
      expect(batch.points.map((p) => [p.value, p.exemplar])).toEqual([[5, undefined]]);
      expect(dropped).toEqual([[1, 'metric-family']]);
    }
  });

  it("a Counter's exemplar inside a histogram family (a hand-made body; Prometheus ignores that field) is not carried but counted", () => {
    const native = { schema: 3, zeroThreshold: 2 ** -128, positiveSpan: [{ offset: -16, length: 1 }], positiveDelta: [1] };
    for (const [what, histogram] of [
      ['classic', { sampleCount: 2, sampleSum: 1.5, bucket: [{ cumulativeCount: 2, upperBound: 1 }] }],
      ['native only', { sampleCount: 1, sampleSum: 0.25, ...native }],
    ] as const) {
      const body = delimited([{ name: 'load_seconds', type: 4, metric: [{ histogram, counter: { value: 9, exemplar: exemplar('c1', 1, now - 5) } }] }]);
      // the ingest keeps the push as it came, so the consumer counts the drop
      expect(metricFamiliesMessageBody(body).contentType, what).toBe(METRIC_FAMILY_CONTENT_TYPE);
      const dropped: number[] = [];
      const points = decodeRecord(record(body), { onExemplarsDropped: (n) => dropped.push(n) }).points;
      expect(points.filter((p) => p.exemplar !== undefined), what).toEqual([]);
      expect(dropped, what).toEqual([1]);
    }
  });
});
