// Group offsets ahead of the checkpoint (committed by something else, or a checkpoint lost): the relay seeks back to
// the checkpointed offset, so the records in between are counted, exactly once.
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { Ledger, relayTestEnvironment, runFleet, settledTotals, stopRelay } from './harness.js';

const env = relayTestEnvironment();

it('seeks back to the checkpoint when the group offset is ahead of it', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const groupId = testTopicName('relay');
  const config = env.relayConfig({ topic, groupId });
  const ledger = new Ledger();
  const send = (messages: { key: string; value: Buffer; headers: Record<string, string> }[]) =>
    producer.send({ topic, acks: -1, messages }).then(() => undefined);
  const first = await env.startRelay(config);
  await runFleet({ send, jobs: ['ahead-a'], runs: 6, pushesPerRun: 4, overlap: 3, pauseMs: 20, ledger });
  await settledTotals(prom, ledger, 30_000);
  expect(await stopRelay(first)).toBe(0);

  // More records arrive while no relay runs, and the group offset is moved past them.
  await runFleet({ send, jobs: ['ahead-a'], runs: 6, pushesPerRun: 4, overlap: 3, pauseMs: 0, ledger });
  const admin = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const [high] = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: high!.high }] });
  await admin.disconnect();

  const second = await env.startRelay(config);
  const seen = await settledTotals(prom, ledger, 30_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await stopRelay(second)).toBe(0);
}, 120_000);
