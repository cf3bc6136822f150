// Guards issue 10 item 2 (second half): a partition that cannot advance because its dead letter cannot be written
// (here: the DLQ topic does not exist and kafka.create_topics is off) stalled silently, /healthz and /readyz green.
// Now it shows in /readyz (503, naming it), in prom_relay_partition_stalled_seconds and in an error log line, and it
// moves on, applying what follows, as soon as the DLQ takes the letter.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createKafkaTopic } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, jobPush, Ledger, newRun, relayTestEnvironment, settledTotals, writeRelayConfig } from '../e2e/harness.js';

const env = relayTestEnvironment();

it('shows a partition waiting on its dead letter in /readyz, a metric and an error line, then moves on', async () => {
  const { prom, producer } = env;
  const brokers = testKafkaBrokers();
  const groupId = testTopicName('relay');
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const checkpointTopic = testTopicName('ckpt');
  const dlqTopic = testTopicName('dlq');
  await Promise.all([
    createKafkaTopic(brokers, checkpointTopic, { compacted: true }),
    createKafkaTopic(brokers, `${groupId}.partials`, { partitions: 1 }),
  ]);
  const config = writeRelayConfig({ brokers, topic, groupId, dlqTopic, checkpointTopic, remoteWriteUrl: prom.remoteWriteUrl });
  // The operator manages topics and forgot the DLQ; a long session keeps the partition on this relay throughout.
  writeFileSync(config, readFileSync(config, 'utf8').replace('kafka:\n', 'kafka:\n  create_topics: false\n').replace('session_timeout: 6s', 'session_timeout: 45s'));
  const relay = await env.startRelay(config);
  const url = relay.url;

  const bad = buildMessage(
    { contentType: CONTENT_TYPE.text, job: 'stall', grouping: { instance: 'poison' }, producerId: randomUUID(), sequence: 0 },
    Buffer.from('e2e_rows_total{table="users" 1\n'),
  );
  const ledger = new Ledger();
  await producer.send({ topic, acks: -1, messages: [bad, jobPush(newRun('stall-good'), { users: 4 }, ledger, 0)] });

  const readyz = async () => {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const stalled = await eventually(readyz, (r) => r.body.stalled === `${topic}/0`, 30_000);
  expect(stalled.status).toBe(503);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`^prom_relay_partition_stalled_seconds\\{topic="${topic}",partition="0"\\} \\d`, 'm'));
  const line = await relay.waitForLog((l) => l.level === 50 && /partition stalled/.test(String(l.msg)), 30_000);
  expect(line).toMatchObject({ topic, partition: 0, offset: '0', dlq: dlqTopic });
  // Nothing behind the dead record was applied meanwhile.
  expect((await prom.query('e2e_rows_total')).length).toBe(0);

  await createKafkaTopic(brokers, dlqTopic);
  const totals = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect(totals.get(key), key).toBe(value);
  const after = await eventually(readyz, (r) => r.status === 200, 30_000);
  expect(after.body.stalled).toBe('none');
  expect(await (await fetch(`${url}/metrics`)).text()).not.toMatch(/^prom_relay_partition_stalled_seconds\{/m);
  expect(relay.logs.find((l) => l.msg === 'record dead-lettered')).toMatchObject({ level: 40, topic, partition: 0, offset: '0' });
}, 180_000);
