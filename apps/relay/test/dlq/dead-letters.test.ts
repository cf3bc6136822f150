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
    const dlq = new DeadLetterQueue({ producer, topic, maxMessageBytes: 1 << 20, events: { sent: (reason) => counted.push(reason.code) } });
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
  }, 30_000);

  const poison = (offset: string, bytes: number) => ({
    topic: 'in',
    partition: 0,
    offset,
    key: null,
    value: Buffer.alloc(bytes, 0x62),
    headers: { 'content-type': Buffer.from('text/plain') },
    timestamp: '0',
  });
  const reason = { code: 'PROM_RELAY_DECODE_TEXT', message: 'bad' };

  it('cuts a letter to the topic limit it reads from the broker when the topic is smaller than configured', async () => {
    const topic = testTopicName('dlq-small');
    await admin.ensureTopic(topic, { partitions: 1, maxMessageBytes: 64 * 1024 });
    expect(await admin.maxMessageBytes(topic)).toBe(64 * 1024);
    const sent: string[][] = [];
    const dlq = new DeadLetterQueue({
      producer,
      topic,
      maxMessageBytes: 16 << 20,
      topicLimit: () => admin.maxMessageBytes(topic),
      events: { sent: (_r, _rec, truncated) => sent.push(truncated) },
    });
    await dlq.send(poison('5', 300 * 1024), reason);
    expect(sent).toEqual([['value']]);
    expect(dlq.stalled()).toEqual([]);
  }, 30_000);

  it('gives a letter up after bounded attempts when the broker refuses it for good, and counts it', async () => {
    // A topic too small for even the reason headers: MESSAGE_TOO_LARGE whatever is cut.
    const topic = testTopicName('dlq-tiny');
    await admin.ensureTopic(topic, { partitions: 1, maxMessageBytes: 200 });
    const failed: string[] = [];
    const dlq = new DeadLetterQueue({
      producer,
      topic,
      maxMessageBytes: 16 << 20,
      maxAttempts: 3,
      minBackoffMs: 10,
      logger,
      events: { failed: (_r, _rec, error) => failed.push(error), sent: () => failed.push('sent?') },
    });
    const started = Date.now();
    await dlq.send(poison('6', 2 * 1024 * 1024), reason);
    expect(failed).toEqual(['MESSAGE_TOO_LARGE']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(dlq.stalled()).toEqual([]);
  }, 30_000);

  it('shows its partition as stalled while the DLQ topic is missing, and moves on once it exists', async () => {
    const topic = testTopicName('dlq-late');
    const dlq = new DeadLetterQueue({ producer, topic, maxMessageBytes: 1 << 20, stallAfterMs: 200, minBackoffMs: 50, maxBackoffMs: 500 });
    let done = false;
    let beats = 0;
    const sending = dlq.send(poison('7', 100), reason, { isRunning: () => true, heartbeat: async () => void beats++ }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 2500));
    expect(done).toBe(false);
    // The consumer keeps its group membership while the partition waits.
    expect(beats).toBeGreaterThanOrEqual(2);
    expect(dlq.stalled()).toEqual([expect.objectContaining({ topic: 'in', partition: 0, offset: '7' })]);
    await admin.ensureTopic(topic, { partitions: 1 });
    await sending;
    expect(dlq.stalled()).toEqual([]);
  }, 60_000);

  it('stop() ends the retries of a letter that cannot be written: send rejects, nothing is given up', async () => {
    const topic = testTopicName('dlq-never');
    const failed: string[] = [];
    const dlq = new DeadLetterQueue({ producer, topic, maxMessageBytes: 1 << 20, stallAfterMs: 100, minBackoffMs: 50, events: { failed: (_r, _rec, e) => failed.push(e) } });
    const sending = dlq.send(poison('8', 100), reason);
    await new Promise((r) => setTimeout(r, 300));
    dlq.stop();
    await expect(sending).rejects.toMatchObject({ code: 'PROM_RELAY_KAFKA_PRODUCE' });
    expect(failed).toEqual([]);
  }, 60_000);
});
