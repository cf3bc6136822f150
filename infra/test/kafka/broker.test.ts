import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError, startKafka, type KafkaServer } from '@prom-relay/infra';

const { Kafka, logLevel, ConfigResourceTypes, Partitioners } = kafkajs;

function client(brokers: string[]) {
  return new Kafka({ clientId: 'infra-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
}

/** Each message as `value key seq-header`, one per position in the log. */
async function consumeAll(brokers: string[], topic: string, expected: number): Promise<string[]> {
  const consumer = client(brokers).consumer({ groupId: `g-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // Keyed by position: a rebalance right after joining may legitimately redeliver (at-least-once).
  const byOffset = new Map<string, string>();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const seq = message.headers?.seq?.toString();
        byOffset.set(`${partition}:${message.offset}`, [message.value?.toString(), message.key?.toString(), seq].filter(Boolean).join(' '));
        if (byOffset.size === expected) resolve();
      },
    });
  });
  await consumer.disconnect();
  return [...byOffset.values()].sort();
}

/**
 * An idempotent producer: under load a plain one may time out, retry and write a batch twice (CI saw v3, v4, v6
 * and v7 twice in the log), which is Kafka's at-least-once and not what these tests are about.
 */
function producerFor(brokers: string[]) {
  return client(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
}

describe('startKafka (own broker)', () => {
  let kafka: KafkaServer;
  beforeAll(async () => {
    kafka = await startKafka();
  }, 90_000);
  afterAll(async () => {
    await kafka?.stop();
  });

  it('answers on a loopback port and reports its addresses', () => {
    expect(kafka.brokers).toEqual([`127.0.0.1:${kafka.port}`]);
    expect(kafka.controllerPort).not.toBe(kafka.port);
    expect(kafka.running).toBe(true);
    expect(existsSync(kafka.dataDir)).toBe(true);
  });

  it('creates a topic with N partitions and a compacted topic, as described by the broker', async () => {
    await kafka.createTopic('six', { partitions: 6 });
    await kafka.createTopic('ckpt', { compacted: true, config: { 'segment.ms': 60_000 } });
    const admin = client(kafka.brokers).admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: ['six', 'ckpt'] });
      const partitions = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({ six: 6, ckpt: 1 });
      const configs = await admin.describeConfigs({
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: 'ckpt', configNames: ['cleanup.policy', 'segment.ms'] },
          { type: ConfigResourceTypes.TOPIC, name: 'six', configNames: ['cleanup.policy'] },
        ],
        includeSynonyms: false,
      });
      const byTopic = Object.fromEntries(
        configs.resources.map((r) => [r.resourceName, Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]))]),
      );
      expect(byTopic.ckpt).toEqual({ 'cleanup.policy': 'compact', 'segment.ms': '60000' });
      expect(byTopic.six).toEqual({ 'cleanup.policy': 'delete' });
    } finally {
      await admin.disconnect();
    }
  });

  it('rejects a duplicate topic and a bad partition count with PROM_RELAY_INFRA_TOPIC', async () => {
    await kafka.createTopic('dup');
    await expect(kafka.createTopic('dup')).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_TOPIC', message: expect.stringContaining('already exists') });
    await expect(kafka.createTopic('zero', { partitions: 0 })).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_TOPIC' });
    await expect(kafka.createTopic('bad name!')).rejects.toBeInstanceOf(InfraError);
  });

  it('round-trips messages with keys and headers through a consumer group', async () => {
    await kafka.createTopic('roundtrip', { partitions: 3 });
    const producer = producerFor(kafka.brokers);
    await producer.connect();
    await producer.send({
      topic: 'roundtrip',
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { seq: String(i) } })),
    });
    await producer.disconnect();
    const values = await consumeAll(kafka.brokers, 'roundtrip', 10);
    expect(values).toEqual(Array.from({ length: 10 }, (_, i) => `v${i} k${i} ${i}`).sort());
  });

  it('restart() keeps the ports and the data; kill() then restart() survives a crash', async () => {
    await kafka.createTopic('durable', { partitions: 2 });
    const producer = producerFor(kafka.brokers);
    await producer.connect();
    await producer.send({ topic: 'durable', acks: -1, messages: [{ key: 'a', value: 'before-restart' }] });
    await producer.disconnect();
    const port = kafka.port;

    await kafka.restart();
    expect(kafka.port).toBe(port);
    expect(kafka.running).toBe(true);

    await kafka.kill();
    expect(kafka.running).toBe(false);
    await kafka.restart();
    expect(kafka.running).toBe(true);

    const producer2 = producerFor(kafka.brokers);
    await producer2.connect();
    await producer2.send({ topic: 'durable', acks: -1, messages: [{ key: 'b', value: 'after-restart' }] });
    await producer2.disconnect();
    expect(await consumeAll(kafka.brokers, 'durable', 2)).toEqual(['after-restart b', 'before-restart a']);
  }, 120_000);
});

describe('startKafka failures', () => {
  let blocker: Server;
  let takenPort = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    takenPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('names a taken port with PROM_RELAY_INFRA_PORT_TAKEN', async () => {
    const err = await startKafka({ port: takenPort }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect(err).toMatchObject({ code: 'PROM_RELAY_INFRA_PORT_TAKEN', message: expect.stringContaining(`127.0.0.1:${takenPort} is already in use`) });
  });

  it('gives up at the deadline with PROM_RELAY_INFRA_START_TIMEOUT and leaves no process or data', async () => {
    const { liveServerGroupCount } = await import('@prom-relay/infra');
    const before = liveServerGroupCount();
    const err = await startKafka({ startTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROM_RELAY_INFRA_START_TIMEOUT', message: expect.stringContaining('did not answer a metadata request within 1 ms') });
    expect(liveServerGroupCount()).toBe(before);
  }, 30_000);

  it('rejects a malformed heap before starting anything', async () => {
    await expect(startKafka({ heap: 'lots' })).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_STATE' });
  });
});
