// A real Prometheus 2.42 scrapes a job and remote-writes into the ingest; its samples arrive in Kafka and decode back equal.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest, decompress } from '@prom-relay/codec';
import type { TimeSeries, WriteRequest } from '@prom-relay/codec';
import { parseMessageHeaders } from '@prom-relay/emitter';
import { startPrometheus } from '@prom-relay/infra';
import type { PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { readUntil } from './kafka-read.js';
import type { ReadMessage } from './kafka-read.js';
import { serveIngest } from './serve.js';
import type { ServedIngest } from './serve.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function decoded(m: ReadMessage): WriteRequest {
  return decodeWriteRequest(decompress(m.value));
}

describe('Prometheus remote_write into the ingest', () => {
  it('its samples arrive in Kafka per (job, instance), equal to what Prometheus stored, with metadata types', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-rw', partitions: 2 });
    const producer: RelayProducer = await connectKafka({ brokers, clientId: 'ingest-rw-test' }).producer();
    cleanups.push(() => producer.disconnect());
    const ingest: ServedIngest = await serveIngest({ send: (m) => producer.send(topic, m), auth: { bearer: ['rw-token'] } });
    cleanups.push(() => ingest.close());

    const registry = new Registry();
    new Counter({ name: 'rows_written_total', help: 'Rows.', labelNames: ['table'], registers: [registry] }).inc({ table: 'users' }, 120);
    new Gauge({ name: 'queue_depth', help: 'Depth.', registers: [registry] }).set(7.5);
    const h = new Histogram({ name: 'step_seconds', help: 'Step.', buckets: [0.1, 1], registers: [registry] });
    h.observe(0.05);
    h.observe(0.5);
    const target = createServer((_req, res) => {
      void registry.metrics().then((text) => res.setHeader('content-type', registry.contentType).end(text));
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => target.close(r)));
    const instance = `127.0.0.1:${(target.address() as AddressInfo).port}`;

    const prom: PrometheusServer = await startPrometheus({
      extraConfig: [
        'scrape_configs:',
        '  - job_name: exporter',
        `    static_configs: [{ targets: ['${instance}'] }]`,
        'remote_write:',
        `  - url: ${ingest.url}/api/v1/write`,
        '    authorization: { credentials: rw-token }',
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '    metadata_config: { send: true, send_interval: 1s }',
      ].join('\n'),
    });
    cleanups.push(() => prom.stop());

    const hasTypedCounter = (all: ReadMessage[]) =>
      all.some((m) => decoded(m).metadata?.some((md) => md.metricFamilyName === 'rows_written_total' && md.type === 'counter') && decoded(m).timeseries.length > 0);
    const messages = await readUntil(brokers, topic, hasTypedCounter, 60_000);

    const ours = messages.filter((m) => m.headers['prom-relay-job'] === 'exporter');
    expect(ours.length).toBeGreaterThan(0);
    const series: TimeSeries[] = [];
    for (const m of ours) {
      expect(m.key).toBe('job=exporter');
      expect(parseMessageHeaders(m.headers)).toMatchObject({
        contentType: 'application/x-protobuf',
        contentEncoding: 'snappy',
        job: 'exporter',
        grouping: { instance },
        producerId: `remote-write/job=exporter&instance=${encodeURIComponent(instance)}`,
      });
      series.push(...decoded(m).timeseries);
    }
    for (const ts of series) expect(ts.labels).toMatchObject({ job: 'exporter', instance });

    const valueOf = (name: string, extra: Record<string, string> = {}) =>
      series.find((ts) => ts.labels.__name__ === name && Object.entries(extra).every(([k, v]) => ts.labels[k] === v))?.samples[0]?.value;
    expect(valueOf('rows_written_total', { table: 'users' })).toBe(120);
    expect(valueOf('queue_depth')).toBe(7.5);
    expect(valueOf('step_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(valueOf('step_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(valueOf('step_seconds_sum')).toBe(0.55);
    expect(valueOf('up')).toBe(1);

    // every sample that went through Kafka is one Prometheus stored: same series, timestamp and value
    const stored = await prom.querySeries(`{job="exporter"}[10m]`);
    const storedKeys = new Set(stored.flatMap((s) => s.samples.map((x) => `${JSON.stringify(Object.entries(s.labels).sort())}@${x.timestamp}=${x.value}`)));
    let compared = 0;
    for (const ts of series) {
      for (const s of ts.samples) {
        expect(storedKeys).toContain(`${JSON.stringify(Object.entries(ts.labels).sort())}@${s.timestamp}=${s.value}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(series.length);
  }, 120_000);
});
