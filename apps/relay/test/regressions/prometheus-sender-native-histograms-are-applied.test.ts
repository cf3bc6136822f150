// Issue 10 item 1: a Prometheus remote-writing into the ingest with native histograms on lost every series of each
// scrape target carrying one (204 from the ingest, then the target's whole message dead-lettered as UNSUPPORTED); until
// issue 11 the ingest refused the native histogram series with a 400. Now a real Prometheus 2.42
// (`--enable-feature=native-histograms`, `send_native_histograms: true`) scrapes a target exposing a native histogram
// beside a counter: the ingest takes every series (no 4xx), and both reach Kafka in messages the consumer applies,
// the native histogram as a histogram point with the target's buckets.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPrometheus } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import protobuf from 'protobufjs';
import { afterAll, expect, it } from 'vitest';
import { DecodeError } from '../../src/decode/index.js';
import type { IngestLogEntry } from '../../src/ingest/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import { eventually } from '../e2e/harness.js';
import { readUntil } from '../ingest/kafka-read.js';
import { serveIngest } from '../ingest/serve.js';
import { consumerView } from './ingest-helpers.js';

// io.prometheus.client metrics.proto: the fields a native histogram needs; protobufjs is the independent encoder.
const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
    Histogram: {
      fields: {
        sampleCount: { type: 'uint64', id: 1 },
        sampleSum: { type: 'double', id: 2 },
        schema: { type: 'sint32', id: 5 },
        zeroThreshold: { type: 'double', id: 6 },
        zeroCount: { type: 'uint64', id: 7 },
        positiveSpan: { rule: 'repeated', type: 'BucketSpan', id: 12 },
        positiveDelta: { rule: 'repeated', type: 'sint64', id: 13 },
      },
    },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, counter: { type: 'Counter', id: 3 }, histogram: { type: 'Histogram', id: 7 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');

function exposition(): Buffer {
  const families = [
    { name: 'nh_rows_total', help: 'Rows.', type: 0, metric: [{ label: [{ name: 'table', value: 'users' }], counter: { value: 42 } }] },
    {
      name: 'nh_latency_seconds',
      help: 'Latency.',
      type: 4,
      metric: [{ histogram: { sampleCount: 3, sampleSum: 1.5, schema: 0, zeroThreshold: 1e-128, zeroCount: 0, positiveSpan: [{ offset: 0, length: 2 }], positiveDelta: [1, 1] } }],
    },
  ];
  return Buffer.concat(families.map((f) => Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish())));
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

it('a native histogram and the counter beside it reach Kafka in messages the consumer applies', async () => {
  const topic = await createTestTopic({ prefix: 'native-hist', partitions: 1 });
  const producer = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'native-hist' }).producer();
  cleanups.push(() => producer.disconnect());
  const logs: IngestLogEntry[] = [];
  const ingest = await serveIngest({ send: (m) => producer.send(topic, m), log: (e) => logs.push(e) });
  cleanups.push(() => ingest.close());

  const body = exposition();
  const target = createServer((_req, res) => {
    res.setHeader('content-type', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    res.end(body);
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => target.close(r)));
  const instance = `127.0.0.1:${(target.address() as AddressInfo).port}`;

  const prom = await startPrometheus({
    extraArgs: ['--enable-feature=native-histograms'],
    extraConfig: [
      'scrape_configs:',
      '  - job_name: native',
      '    scrape_interval: 1s',
      `    static_configs: [{ targets: ['${instance}'] }]`,
      'remote_write:',
      `  - url: ${ingest.url}/api/v1/write`,
      '    send_native_histograms: true',
      '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
      '    metadata_config: { send: true, send_interval: 1s }',
    ].join('\n'),
  });
  cleanups.push(() => prom.stop());
  // Prometheus itself took the native histogram: what it forwards is what is checked
  await eventually(async () => prom.query('histogram_count(nh_latency_seconds)'), (v) => v.length > 0 && v[0]!.value === 3, 30_000);

  const withBoth = (all: Awaited<ReturnType<typeof readUntil>>) => {
    const points = all.flatMap((m) => {
      const view = consumerView(m);
      return view instanceof DecodeError ? [] : view.points;
    });
    return points.some((p) => p.labels['__name__'] === 'nh_rows_total') && points.some((p) => p.histogram !== undefined);
  };
  const messages = await readUntil(testKafkaBrokers(), topic, withBoth, 60_000);
  for (const m of messages) {
    const view = consumerView(m);
    expect(view instanceof DecodeError ? `${view.code}: ${view.message}` : 'applied').toBe('applied');
  }
  expect(logs.filter((l) => l.status >= 400)).toEqual([]);
  const native = messages
    .flatMap((m) => (consumerView(m) as Exclude<ReturnType<typeof consumerView>, DecodeError>).points)
    .find((p) => p.histogram !== undefined);
  expect(native).toMatchObject({ family: 'nh_latency_seconds', type: 'histogram', labels: { __name__: 'nh_latency_seconds', job: 'native', instance } });
  expect(native!.histogram).toMatchObject({ count: 3, sum: 1.5, schema: 0, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 1] });
  const counter = messages
    .flatMap((m) => (consumerView(m) as Exclude<ReturnType<typeof consumerView>, DecodeError>).points)
    .find((p) => p.labels['__name__'] === 'nh_rows_total');
  expect(counter).toMatchObject({ value: 42, labels: { job: 'native', instance, table: 'users' } });
}, 150_000);
