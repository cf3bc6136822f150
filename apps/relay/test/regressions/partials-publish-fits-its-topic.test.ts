// Guards the partials publish (repartition/publisher.ts): a source partition's partials go to their owners in
// messages of at most 512 KiB of JSON each, and a large source has several for one owner partition. Sent in one
// produce request, they were one record batch for that partition, over the topic's max.message.bytes even though each
// message fitted: Kafka refused the publish at every flush (publish_failed for ever; an operator's topic keeps Kafka's
// default 1 MiB, the relay's own 8 MiB). Real Kafka, a partials topic of 600 KB, the relay's producer and publisher.
import { randomBytes } from 'node:crypto';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/labels.js';
import { connectKafka, type RelayAdmin, type RelayProducer } from '../../src/kafka/index.js';
import type { OutputSample } from '../../src/model.js';
import { PartialsPublisher } from '../../src/repartition/index.js';

const TOPIC_MAX_BYTES = 600_000;
let admin: RelayAdmin;
let producer: RelayProducer;

beforeAll(async () => {
  const connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'partials-fit-test', logger: pino({ level: 'silent' }) });
  admin = await connection.admin();
  producer = await connection.producer();
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
});

it('publishes a large source, several messages for one owner, in produce requests its topic takes', async () => {
  const topic = await createTestTopic({ prefix: 'partials', partitions: 1, config: { 'max.message.bytes': TOPIC_MAX_BYTES } });
  const publisher = new PartialsPublisher(producer, topic, 1, (await admin.maxMessageBytes(topic))!);
  // Label values that do not compress: about 2.4 MB of partials, 5 messages of some 300 KB each.
  const samples: OutputSample[] = Array.from({ length: 15_000 }, (_, i) => {
    const labels = { __name__: 'e2e_rows_total', r: randomBytes(75).toString('base64'), i: String(i) };
    return { labels, key: labelsKey(labels), value: i, combine: 'total' };
  });
  const result = await publisher.publish([{ source: 'metrics/0', offset: 7n, samples }]);
  expect(result.partials).toBe(samples.length);
  expect(result.messages).toBeGreaterThan(2);
  expect(result.bytes).toBeGreaterThan(TOPIC_MAX_BYTES);
  // Every message is in the topic.
  expect((await admin.highWatermarks(topic)).get(0)).toBe(String(result.messages));
}, 60_000);
