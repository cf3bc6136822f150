// Guards the ingest's check of a push against its topic's max.message.bytes (ingest/topic-fit.ts). An operator-made
// ingest topic (kafka.create_topics off, so the relay does not raise it) may take less than ingest.max_body_bytes: a
// push whose Kafka message is larger than the topic takes was answered 503 for ever (Kafka refuses MESSAGE_TOO_LARGE
// on every attempt, the client retries), and produced in one group commit with other pushes it failed them too. Now it
// is answered 413 naming both sizes, counted and logged, never produced; concurrent pushes that fit are 200 and
// applied. Real Kafka, the relay as a process (`run`), a real Prometheus.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { compress } from '@prom-relay/codec';
import { createKafkaTopic } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, relayTestEnvironment, stopRelay, writeRelayConfig } from '../e2e/harness.js';
import { topicMessageCount } from '../ingest/kafka-read.js';
import { TEXT, relayCounter, send } from './ingest-helpers.js';

const env = relayTestEnvironment();

const LIMIT = 20_000;
const SMALL = 8;

/** A text push whose snappy body is a little over LIMIT bytes (random label values: snappy cannot shrink them). */
function justAbove(): string {
  const lines = ['# TYPE fit_big_total counter'];
  for (let i = 0; compress(Buffer.from(lines.join('\n'))).length < LIMIT + 100; i++) lines.push(`fit_big_total{i="${i}",r="${randomBytes(150).toString('base64')}"} 1`);
  return `${lines.join('\n')}\n`;
}

it('answers 413 to a push larger than the ingest topic takes, and 200 to the pushes beside it, which are applied', async () => {
  const { prom } = env;
  const brokers = testKafkaBrokers();
  const groupId = testTopicName('relay');
  const topic = await createTestTopic({ prefix: 'ingest-small', partitions: 1, config: { 'max.message.bytes': String(LIMIT) } });
  const checkpointTopic = testTopicName('ckpt');
  const dlqTopic = testTopicName('dlq');
  await Promise.all([
    createKafkaTopic(brokers, checkpointTopic, { compacted: true }),
    createKafkaTopic(brokers, `${groupId}.partials`, { partitions: 1 }),
    createKafkaTopic(brokers, dlqTopic),
  ]);
  const config = writeRelayConfig({ brokers, topic, groupId, dlqTopic, checkpointTopic, remoteWriteUrl: prom.remoteWriteUrl });
  // The operator made the topics: the relay leaves the ingest topic's max.message.bytes as it is.
  writeFileSync(config, readFileSync(config, 'utf8').replace('kafka:\n', 'kafka:\n  create_topics: false\n'));
  const relay = await env.startRelay(config);
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);

  const big = justAbove();
  const compressed = compress(Buffer.from(big)).length;
  expect(compressed).toBeGreaterThan(LIMIT);
  expect(compressed).toBeLessThan(LIMIT + 1024);
  const small = (i: number) => `# TYPE fit_small_total counter\nfit_small_total ${i + 1}\n`;
  // All at once: the small pushes arrive while the big one is checked, and are produced in group commits.
  const [bigAnswer, ...smallAnswers] = await Promise.all([
    send(relay.url, 'PUT', '/metrics/job/fit/instance/big', TEXT, big),
    ...Array.from({ length: SMALL }, (_, i) => send(relay.url, 'PUT', `/metrics/job/fit/instance/s${i}`, TEXT, small(i))),
  ]);
  expect(smallAnswers.map((a) => `${a.status} ${a.text}`.trim())).toEqual(smallAnswers.map(() => '200'));
  expect(bigAnswer!.status).toBe(413);
  expect(bigAnswer!.text).toMatch(
    new RegExp(`^PROM_RELAY_INGEST_TOO_LARGE: the push makes a Kafka message of \\d+ bytes .*more than the ${LIMIT} bytes the ingest topic ${topic} takes \\(its max.message.bytes\\)`),
  );
  const made = Number(/message of (\d+) bytes/.exec(bigAnswer!.text)![1]);
  expect(made).toBeGreaterThan(compressed);
  expect(made).toBeLessThan(compressed + 2048);
  // A client retrying it is answered the same, not a 503 it would retry for ever.
  expect((await send(relay.url, 'PUT', '/metrics/job/fit/instance/big', TEXT, big)).status).toBe(413);

  // Counted under its code, logged (warn), never produced: the topic holds the small pushes alone, all applied.
  expect(await relayCounter(relay.url, 'prom_relay_ingest_requests_total', { api: 'pushgateway', status: '413', code: 'PROM_RELAY_INGEST_TOO_LARGE' })).toBe(2);
  expect(relay.logs.find((l) => l.msg === 'ingest request rejected' && l.code === 'PROM_RELAY_INGEST_TOO_LARGE')).toMatchObject({ level: 'warn', status: 413 });
  expect(await topicMessageCount(brokers, topic)).toBe(SMALL);
  const applied = await eventually(() => prom.query('sum(fit_small_total{job="fit"})'), (v) => v[0]?.value === (SMALL * (SMALL + 1)) / 2, 30_000);
  expect(applied).toEqual([expect.objectContaining({ value: (SMALL * (SMALL + 1)) / 2 })]);
  expect(await prom.query('count(fit_big_total)')).toEqual([]);
  expect(await stopRelay(relay)).toBe(0);
}, 180_000);
