// Guards issue 11 items 1 and 3 end to end: the relay (protocol auto: 2.0 on Prometheus 3) sends every relayed series
// with its type — counters, classic histograms, gauges, rule outputs typed by what they are — and each output counter
// with its start timestamp. Prometheus 3 (built from the Go module proxy by @prom-relay/infra) shows the types as
// `__type__` labels (type-and-unit-labels) and a start timestamp as a zero sample (created-timestamp-zero-ingestion).
// Acceptance of issue 11: Prometheus 3's own `prometheus_api_remote_write_without_metadata_appended_samples_total` stays 0
// while the relayed samples are appended; with `remote_write.send_metadata: false` it counts them.
import { startPrometheus3 } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, jobPush, Ledger, newRun, relayTestEnvironment, stopRelay } from '../e2e/harness.js';
import { metricSum } from '../e2e/receivers.js';

// The first run on a machine builds Prometheus 3 (minutes).
const env = relayTestEnvironment({ receiver: () => startPrometheus3({ features: ['type-and-unit-labels', 'created-timestamp-zero-ingestion'] }), timeoutMs: 900_000 });

it('Prometheus 3 gets the type of every relayed series and a start timestamp on each output counter', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const relay = await env.startRelay(
    env.relayConfig({ topic, extra: { aggregation: { series_ttl: '10m', rules: [{ match: 'e2e_rows_total', by: ['table'], outputs: ['total', 'max'], keep_input: true }] } } }),
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

  // Prometheus scrapes nothing here: every sample it appended was relayed, and each one came with its metadata.
  expect(await appended()).toBeGreaterThan(0);
  expect(await withoutMetadata()).toBe(0);
}, 900_000);

const appended = () => metricSum(env.prom.url, 'prometheus_tsdb_head_samples_appended_total');
const withoutMetadata = () => metricSum(env.prom.url, 'prometheus_api_remote_write_without_metadata_appended_samples_total');

it('with remote_write.send_metadata false the relayed series arrive untyped, counted by Prometheus 3 as without metadata', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const relay = await env.startRelay(
    env.relayConfig({ topic, extra: { remote_write: { url: prom.remoteWriteUrl, send_metadata: false, retry_max_elapsed: '2s', timeout: '2s' } } }),
  );
  const [appendedBefore, withoutBefore] = [await appended(), await withoutMetadata()];
  await producer.send({ topic, acks: -1, messages: [jobPush(newRun('untyped'), { users: 4 }, new Ledger(), 2)] });
  const rows = await eventually(() => prom.query('e2e_rows_total{job="untyped"}'), (v) => v.length > 0, 30_000);
  expect(rows[0]!.labels['__type__']).toBeUndefined();
  expect(await stopRelay(relay)).toBe(0);
  const relayed = (await appended()) - appendedBefore;
  expect(relayed).toBeGreaterThan(0);
  // Every relayed sample but the start timestamps' zero samples (appended beside, outside the handler's count).
  const counted = (await withoutMetadata()) - withoutBefore;
  expect(counted).toBeGreaterThan(0);
  expect(counted).toBeLessThanOrEqual(relayed);
}, 120_000);
