import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel, ConfigResourceTypes } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKafka, InputTopics, type RelayAdmin } from '../../src/kafka/index.js';

const logger = pino({ level: 'silent' });
let admin: RelayAdmin;

beforeAll(async () => {
  admin = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-topics-test', logger }).admin();
});
afterAll(() => admin.disconnect());

async function topicConfig(name: string): Promise<Map<string, string>> {
  const raw = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await raw.connect();
  const res = await raw.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name }] });
  await raw.disconnect();
  return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
}

describe('RelayAdmin topics', () => {
  it('raises max.message.bytes of an existing topic and keeps what else was set on it (compaction)', async () => {
    const name = testTopicName('ckpt');
    await admin.ensureTopic(name, { partitions: 1, compacted: true, maxMessageBytes: 1 << 20 });
    expect(await admin.maxMessageBytes(name)).toBe(1 << 20);
    await admin.ensureTopic(name, { partitions: 1, compacted: true, maxMessageBytes: 4 << 20 });
    const config = await topicConfig(name);
    expect(config.get('max.message.bytes')).toBe(String(4 << 20));
    expect(config.get('cleanup.policy')).toBe('compact');
    // Never lowered.
    await admin.ensureTopic(name, { maxMessageBytes: 1 << 20 });
    expect(await admin.maxMessageBytes(name)).toBe(4 << 20);
  });

  it('reads the broker default as the limit of a topic without its own', async () => {
    const name = testTopicName('plain');
    await admin.ensureTopic(name, {});
    const limit = await admin.maxMessageBytes(name);
    expect(limit).toBeGreaterThan(1_000_000);
    expect(await admin.missingTopics([name, testTopicName('nope')])).toHaveLength(1);
  });

  it('creates topics with the replication factor of the connection, and fails at once (naming the brokers) when the cluster cannot have it', async () => {
    const strict = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-topics-rf', logger, topicReplicationFactor: 2 }).admin();
    const started = Date.now();
    const err = await strict.ensureTopic(testTopicName('rf'), { partitions: 1 }).catch((e: unknown) => e);
    await strict.disconnect();
    // One broker: replication factor 2 is refused for good, not retried for the start-up deadline.
    expect(err).toMatchObject({ code: 'PROM_RELAY_KAFKA_TOPIC' });
    expect(String((err as Error).message)).toContain(`brokers ${testKafkaBrokers().join(',')}`);
    expect(String((err as Error).message)).toMatch(/replication/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('InputTopics creates missing topics with the given partitions, or waits for them and names them', async () => {
    const created = testTopicName('in');
    await new InputTopics({ admin, topics: [created], create: { partitions: 3 } }).ensure();
    const raw = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await raw.connect();
    const { topics } = await raw.fetchTopicMetadata({ topics: [created] });
    expect(topics[0]!.partitions).toHaveLength(3);

    const late = testTopicName('late');
    const waiter = new InputTopics({ admin, topics: [created, late], pollMs: 100 });
    expect(waiter.check()).toBe('unknown');
    let done = false;
    const waiting = waiter.ensure().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toBe(false);
    expect(waiter.missing()).toEqual([late]);
    expect(waiter.check()).toBe(`missing: ${late}`);
    await raw.createTopics({ waitForLeaders: true, topics: [{ topic: late }] });
    await raw.disconnect();
    await waiting;
    expect(waiter.check()).toBe('present');
  });
});
