import protobuf from 'protobufjs';
import { decompress, parseExposition } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { IngestError, metricFamiliesToText } from '../../src/ingest/index.js';
import type { IngestMessage } from '../../src/ingest/index.js';
import { serveIngest } from './serve.js';

// io.prometheus.client metrics.proto, the fields the Pushgateway format uses; protobufjs is the independent encoder.
const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    Untyped: { fields: { value: { type: 'double', id: 1 } } },
    Quantile: { fields: { quantile: { type: 'double', id: 1 }, value: { type: 'double', id: 2 } } },
    Summary: { fields: { sampleCount: { type: 'uint64', id: 1 }, sampleSum: { type: 'double', id: 2 }, quantile: { rule: 'repeated', type: 'Quantile', id: 3 } } },
    Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 } } },
    Histogram: { fields: { sampleCount: { type: 'uint64', id: 1 }, sampleSum: { type: 'double', id: 2 }, bucket: { rule: 'repeated', type: 'Bucket', id: 3 } } },
    Metric: {
      fields: {
        label: { rule: 'repeated', type: 'LabelPair', id: 1 },
        gauge: { type: 'Gauge', id: 2 },
        counter: { type: 'Counter', id: 3 },
        summary: { type: 'Summary', id: 4 },
        untyped: { type: 'Untyped', id: 5 },
        timestampMs: { type: 'int64', id: 6 },
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

describe('metricFamiliesToText', () => {
  it('turns counters, gauges, summaries and histograms into the text format', () => {
    const body = delimited([
      { name: 'rows_total', help: 'Rows.', type: 0, metric: [{ label: [{ name: 'table', value: 'users' }], counter: { value: 120 } }] },
      { name: 'depth', type: 1, metric: [{ gauge: { value: -2.5 }, timestampMs: 1700000000000 }] },
      { name: 'rpc_seconds', type: 2, metric: [{ summary: { sampleCount: 40, sampleSum: 12.5, quantile: [{ quantile: 0.5, value: 0.2 }] } }] },
      { name: 'lat_seconds', type: 4, metric: [{ histogram: { sampleCount: 6, sampleSum: 2.7, bucket: [{ cumulativeCount: 3, upperBound: 0.1 }, { cumulativeCount: 5, upperBound: 1 }] } }] },
    ]);
    const text = metricFamiliesToText(body);
    expect(text).toBe(
      [
        '# HELP rows_total Rows.',
        '# TYPE rows_total counter',
        'rows_total{table="users"} 120',
        '# TYPE depth gauge',
        'depth -2.5 1700000000000',
        '# TYPE rpc_seconds summary',
        'rpc_seconds{quantile="0.5"} 0.2',
        'rpc_seconds_sum 12.5',
        'rpc_seconds_count 40',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1"} 3',
        'lat_seconds_bucket{le="1"} 5',
        'lat_seconds_bucket{le="+Inf"} 6',
        'lat_seconds_sum 2.7',
        'lat_seconds_count 6',
        '',
      ].join('\n'),
    );
    expect(parseExposition(text).map((f) => f.type)).toEqual(['counter', 'gauge', 'summary', 'histogram']);
  });

  it('rejects a truncated body with a BODY code naming the byte', () => {
    const body = delimited([{ name: 'rows_total', type: 0, metric: [{ counter: { value: 1 } }] }]);
    expect(() => metricFamiliesToText(body.subarray(0, body.length - 3))).toThrow(IngestError);
    expect(() => metricFamiliesToText(body.subarray(0, body.length - 3))).toThrow(/at byte \d+/);
  });

  it('a push in the Go client\'s default format becomes a text message', async () => {
    const sent: IngestMessage[] = [];
    const served = await serveIngest({ send: async (m) => void sent.push(...m) });
    try {
      const body = delimited([{ name: 'rows_total', type: 0, metric: [{ counter: { value: 5 } }] }]);
      const res = await fetch(`${served.url}/metrics/job/go-job/instance/h`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' },
        body,
      });
      expect(res.status).toBe(200);
      expect(sent[0]!.headers['content-type']).toBe('text/plain; version=0.0.4');
      expect(sent[0]!.headers['content-encoding']).toBe('snappy');
      expect(Buffer.from(decompress(sent[0]!.value)).toString()).toBe('# TYPE rows_total counter\nrows_total 5\n');
    } finally {
      await served.close();
    }
  });
});
