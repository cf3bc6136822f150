// SIGTERM while the remote write receiver is down: the relay still checkpoints, leaves the group and exits 0 in time.
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/checkpoint/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import { kafkaProducer, Ledger, runFleet, startRelayProcess, writeRelayConfig, type RelayProcess } from './harness.js';

let relay: RelayProcess | undefined;
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(() => connect());
afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await producer.disconnect();
});

it('exits 0 within shutdown.timeout with the store down, after a final checkpoint and leaving the group', async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const groupId = testTopicName('relay');
  const checkpointTopic = testTopicName('ckpt');
  const config = writeRelayConfig({
    brokers: testKafkaBrokers(),
    topic,
    groupId,
    dlqTopic: testTopicName('dlq'),
    checkpointTopic,
    remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    flushInterval: '1h',
    extra: { shutdown: { timeout: '6s' } },
  });
  relay = await startRelayProcess(config);
  await runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['bye-a', 'bye-b'],
    runs: 4,
    pushesPerRun: 3,
    overlap: 2,
    pauseMs: 0,
    ledger: new Ledger(),
  });
  const consumed = async () => {
    const text = await (await fetch(`${relay!.url}/metrics`)).text();
    return [...text.matchAll(/^prom_relay_messages_consumed_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  while ((await consumed()) < 12) await new Promise((r) => setTimeout(r, 100));

  const started = Date.now();
  relay.kill('SIGTERM');
  expect(await relay.exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(6000);

  // No flush ran before (interval 1h): the final one wrote the checkpoints covering all 12 records.
  const connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'shutdown-test' });
  const [admin, cpProducer] = await Promise.all([connection.admin(), connection.producer()]);
  const store = new CheckpointStore({ connection, producer: cpProducer, admin, topic: checkpointTopic, groupId: testTopicName('g'), owner: 'test', maxMessageBytes: 1 << 20, createTopic: false });
  await store.start();
  const offsets = await Promise.all([0, 1].map(async (partition) => (await store.latest({ topic, partition }))?.checkpoint.offset ?? '0'));
  expect(offsets.reduce((n, o) => n + Number(o), 0)).toBe(12);
  await store.stop();
  await Promise.all([admin.disconnect(), cpProducer.disconnect()]);

  // The group is empty: the relay left it rather than timing out.
  const kafkaAdmin = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await kafkaAdmin.connect();
  const { groups } = await kafkaAdmin.describeGroups([groupId]);
  await kafkaAdmin.disconnect();
  expect(groups[0]!.members).toHaveLength(0);
}, 60_000);
