import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';

const { Kafka, logLevel } = kafkajs;

describe('the shared test broker from the root globalSetup', () => {
  it('is provided to test files and answers metadata', async () => {
    const brokers = testKafkaBrokers();
    expect(brokers).toHaveLength(1);
    expect(brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual(brokers);
    } finally {
      await admin.disconnect();
    }
  });

  it('creates uniquely named topics with the requested partitions', async () => {
    expect(testTopicName('a')).not.toBe(testTopicName('a'));
    const topic = await createTestTopic({ prefix: 'shared', partitions: 3 });
    expect(topic).toMatch(/^shared-[0-9a-f]{12}$/);
    const admin = new Kafka({ clientId: 't', brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
  });
});
