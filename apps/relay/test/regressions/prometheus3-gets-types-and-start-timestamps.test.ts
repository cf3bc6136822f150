// Guards issue 11 items 1 and 3 end to end: the relay (protocol auto: 2.0 on Prometheus 3) sends every relayed series
// with its type — counters, classic histograms, gauges, rule outputs typed by what they are — and each output counter
// with its start timestamp. Prometheus 3 (built from the Go module proxy by @prom-relay/infra) shows the types as
// `__type__` labels (type-and-unit-labels) and a start timestamp as a zero sample (created-timestamp-zero-ingestion).
import { startPrometheus3, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, jobPush, kafkaProducer, Ledger, newRun, startRelayProcess, stopRelay, writeRelayConfig, type RelayProcess } from '../e2e/harness.js';

let prom: PrometheusServer;
let relay: RelayProcess | undefined;
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  [prom] = await Promise.all([startPrometheus3({ features: ['type-and-unit-labels', 'created-timestamp-zero-ingestion'] }), connect()]);
}, 900_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await producer.disconnect();
  await prom?.stop();
});

it('Prometheus 3 gets the type of every relayed series and a start timestamp on each output counter', async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  relay = await startRelayProcess(
    writeRelayConfig({
      brokers: testKafkaBrokers(),
      topic,
      groupId: testTopicName('relay'),
      dlqTopic: testTopicName('dlq'),
      checkpointTopic: testTopicName('ckpt'),
      remoteWriteUrl: prom.remoteWriteUrl,
      extra: { aggregation: { series_ttl: '10m', rules: [{ match: 'e2e_rows_total', by: ['table'], outputs: ['total', 'max'], keep_input: true }] } },
    }),
  );
  const ledger = new Ledger();
  const run = newRun('typed');
  const before = Date.now();
  await producer.send({ topic, acks: -1, messages: [jobPush(run, { users: 4 }, ledger, 2)] });

  const typeOf = async (name: string) => {
    const r = await eventually(() => prom.query(`{__name__="${name}"}`), (v) => v.length > 0, 30_000);
    return r.map((s) => s.labels['__type__']);
  };
  expect(await typeOf('e2e_rows_total')).toEqual(['counter']);
  expect(new Set(await typeOf('e2e_latency_seconds_bucket'))).toEqual(new Set(['histogram']));
  expect(await typeOf('e2e_latency_seconds_sum')).toEqual(['histogram']);
  expect(await typeOf('e2e_rows_total:by_table_total')).toEqual(['counter']);
  expect(await typeOf('e2e_rows_total:by_table_max')).toEqual(['gauge']);

  // The counter's raw samples: a zero at its start timestamp, then the total; the gauge-typed rule output has none.
  const raw = await eventually(
    () => prom.querySeries('{__name__="e2e_rows_total",job="typed"}[10m]'),
    (s) => s.length === 1 && s[0]!.samples.some((x) => x.value === 4),
    30_000,
  );
  const samples = raw[0]!.samples;
  expect(samples[0]!.value).toBe(0);
  expect(samples[0]!.timestamp).toBeGreaterThanOrEqual(before - 1000);
  expect(samples[0]!.timestamp).toBeLessThan(samples[1]!.timestamp);
  expect(samples.slice(1).every((x) => x.value === 4)).toBe(true);
  const gauge = await prom.querySeries('{__name__="e2e_rows_total:by_table_max"}[10m]');
  expect(gauge[0]!.samples.every((x) => x.value === 4)).toBe(true);
  expect(await stopRelay(relay)).toBe(0);
}, 900_000);
