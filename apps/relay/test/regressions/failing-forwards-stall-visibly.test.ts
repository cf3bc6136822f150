// "Silence is a bug": a push consumed off its home partition is forwarded there (source/forwards.ts), retried until Kafka
// takes it, and its partition waits meanwhile. While Kafka refused the forwards, the relay logged an error on every retry
// and nothing else: no counter, /readyz 200, prom_relay_partition_stalled_seconds absent. Now each failed attempt is
// counted (prom_relay_forward_failures_total{topic,partition}) and logged (rate-limited, PROM_RELAY_SOURCE_FORWARD), the
// partition shows as stalled (/readyz 503 `stalled`, the gauge), and all of it clears once the forwards go through.
// Real Kafka (the input topic refuses the forwarded copies: they keep their record's timestamp, older than the topic's
// message.timestamp.before.max.ms allows), a real Prometheus, the relay as a process.
import { randomUUID } from 'node:crypto';
import { buildMessage, buildMessageKey, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import kafkajs from 'kafkajs';
import { expect, it } from 'vitest';
import { homePartition } from '../../src/repartition/homes.js';
import { eventually, Ledger, relayTestEnvironment, settledTotals, seriesKey, stopRelay } from '../e2e/harness.js';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
const env = relayTestEnvironment();

async function setTimestampLimit(topic: string, ms: string): Promise<void> {
  const admin = new Kafka({ brokers: testKafkaBrokers(), clientId: 'forwards-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'message.timestamp.before.max.ms', value: ms }] }] });
  } finally {
    await admin.disconnect();
  }
}

it('counts failing forwards, shows their partition stalled in /readyz and the gauge, and clears once they go through', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  // Without the ingest the relay changes nothing of the input topic's config.
  const config = env.relayConfig({ topic, extra: { ingest: { enabled: false }, aggregation: { series_ttl: '10m' } } });
  const job = 'forward-refused';
  const grouping = { instance: 'h1' };
  const away = 1 - homePartition(buildMessageKey(job, grouping), 2);

  // Written two minutes in the past, then the topic takes records at most a minute old: the forwarded copy is refused.
  const ledger = new Ledger();
  const msg = buildMessage({ contentType: CONTENT_TYPE.text, job, grouping, producerId: randomUUID(), sequence: 0 }, Buffer.from('# TYPE e2e_forward_rows_total counter\ne2e_forward_rows_total{table="t"} 6\n'));
  await producer.send({ topic, acks: -1, messages: [{ ...msg, partition: away, timestamp: String(Date.now() - 120_000) }] });
  ledger.add(seriesKey({ __name__: 'e2e_forward_rows_total', job, table: 't' }), 6);
  await setTimestampLimit(topic, '60000');

  const relay = await env.startRelay(config);
  const readyz = async () => {
    const res = await fetch(`${relay.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const stalled = await eventually(readyz, (r) => r.body.stalled === `${topic}/${away}`, 60_000);
  expect(stalled.status).toBe(503);
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  const failures = new RegExp(`^prom_relay_forward_failures_total\\{topic="${topic}",partition="${away}"\\} (\\d+)`, 'm').exec(metrics);
  expect(Number(failures?.[1])).toBeGreaterThanOrEqual(1);
  expect(metrics).toMatch(new RegExp(`^prom_relay_partition_stalled_seconds\\{topic="${topic}",partition="${away}"\\} \\d`, 'm'));
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_SOURCE_FORWARD' && l.level === 50, 30_000);
  expect(line).toMatchObject({ partition: `${topic}/${away}`, offset: '0', records: 1 });
  expect((await prom.query('e2e_forward_rows_total')).length).toBe(0);

  // The operator mends the topic: the forward goes through, the total arrives, the stall clears.
  await setTimestampLimit(topic, '9223372036854775807');
  const totals = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect({ key, value: totals.get(key) }).toEqual({ key, value });
  const after = await eventually(readyz, (r) => r.status === 200, 30_000);
  expect(after.body.stalled).toBe('none');
  expect(await (await fetch(`${relay.url}/metrics`)).text()).not.toMatch(/^prom_relay_partition_stalled_seconds\{/m);
  await relay.waitForLog((l) => l.code === 'PROM_RELAY_SOURCE_FORWARD' && l.msg === 'pushes forwarded after retries: partition moves on', 10_000);
  expect(await stopRelay(relay)).toBe(0);
}, 180_000);
