// Group offsets ahead of the checkpoint (committed by something else, or a checkpoint lost): the relay seeks back to
// the checkpointed offset, so the records in between are counted, exactly once.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kafkaProducer, Ledger, runFleet, settledTotals, startRelayProcess, stopRelay, writeRelayConfig, type RelayProcess } from './harness.js';

let prom: PrometheusServer;
const relays: RelayProcess[] = [];
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  [prom] = await Promise.all([startPrometheus(), connect()]);
}, 60_000);

afterAll(async () => {
  for (const r of relays) if (r.child.exitCode === null) r.kill('SIGKILL');
  await producer.disconnect();
  await prom?.stop();
});

it('seeks back to the checkpoint when the group offset is ahead of it', async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const groupId = testTopicName('relay');
  const config = writeRelayConfig({
    brokers: testKafkaBrokers(),
    topic,
    groupId,
    dlqTopic: testTopicName('dlq'),
    checkpointTopic: testTopicName('ckpt'),
    remoteWriteUrl: prom.remoteWriteUrl,
  });
  const ledger = new Ledger();
  const send = (messages: { key: string; value: Buffer; headers: Record<string, string> }[]) =>
    producer.send({ topic, acks: -1, messages }).then(() => undefined);
  const first = await startRelayProcess(config);
  relays.push(first);
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

  const second = await startRelayProcess(config);
  relays.push(second);
  const seen = await settledTotals(prom, ledger, 30_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await stopRelay(second)).toBe(0);
}, 120_000);
