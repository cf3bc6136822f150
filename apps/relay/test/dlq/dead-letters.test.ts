import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterQueue, DLQ_HEADERS } from '../../src/dlq/index.js';
import { connectKafka, type RelayAdmin, type RelayProducer } from '../../src/kafka/index.js';

const logger = pino({ level: 'silent' });
let producer: RelayProducer;
let admin: RelayAdmin;

beforeAll(async () => {
  const connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-dlq-test', logger });
  producer = await connection.producer();
  admin = await connection.admin();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.disconnect();
});

describe('DeadLetterQueue', () => {
  it('writes the original key, bytes and headers plus reason and source position, and counts by reason', async () => {
    const topic = testTopicName('dlq');
    await admin.ensureTopic(topic, { partitions: 1 });
    const counted: string[] = [];
    const dlq = new DeadLetterQueue(producer, topic, (reason) => counted.push(reason.code));
    const value = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    await dlq.send(
      {
        topic: 'prom-relay.metrics',
        partition: 3,
        offset: '1234',
        key: Buffer.from('job=etl'),
        value,
        headers: { 'content-type': Buffer.from('text/plain; version=0.0.4'), 'prom-relay-job': Buffer.from('etl') },
        timestamp: '0',
      },
      { code: 'PROM_RELAY_DECODE_TEXT', message: 'line 2, column 5: unexpected character' },
    );
    expect(counted).toEqual(['PROM_RELAY_DECODE_TEXT']);

    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: testTopicName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise<{ key: string; value: Buffer; headers: Record<string, string> }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          resolve({ key: message.key!.toString(), value: message.value!, headers });
        },
      });
    });
    await consumer.disconnect();
    expect(got.key).toBe('job=etl');
    expect(got.value.equals(value)).toBe(true);
    expect(got.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(got.headers['prom-relay-job']).toBe('etl');
    expect(got.headers[DLQ_HEADERS.reason]).toBe('PROM_RELAY_DECODE_TEXT');
    expect(got.headers[DLQ_HEADERS.error]).toBe('line 2, column 5: unexpected character');
    expect(got.headers[DLQ_HEADERS.topic]).toBe('prom-relay.metrics');
    expect(got.headers[DLQ_HEADERS.partition]).toBe('3');
    expect(got.headers[DLQ_HEADERS.offset]).toBe('1234');
  });
});
