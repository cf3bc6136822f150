// Guards the source against a record whose apply throws after it decoded: the throw left onBatch, kafkajs logged
// "kafka consumer crashed", restarted the consumer on the same record, and it threw again, for ever: one record stalled
// its partition (nothing after it applied, /readyz green). Now it goes to the dead-letter topic (reason
// PROM_RELAY_SOURCE_APPLY, the error in prom-relay-dlq-error), an error line says so, and the partition goes on.
// Real Kafka (input topic, consumer group, DLQ topic), the real source, decoder and aggregate. No input is known to make
// the aggregate throw (that would be a bug, fixed where found), so the fault is injected through the source's state
// factory: a real PartitionAggregate behind a state that throws for the pushes of one job.
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { CheckpointStore } from '../../src/checkpoint/index.js';
import { decodeRecord } from '../../src/decode/index.js';
import { DeadLetterQueue, DLQ_HEADERS } from '../../src/dlq/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import type { IngestBatch } from '../../src/model.js';
import { KafkaSource, type PartitionState } from '../../src/source/index.js';
import { options } from '../aggregate/fixtures.js';

const counter = (value: number) => Buffer.from(`# TYPE rows_total counter\nrows_total{table="t"} ${value}\n`);

it('dead-letters a record whose apply throws and applies the records after it', async () => {
  const brokers = testKafkaBrokers();
  const topic = await createTestTopic({ prefix: 'apply-throws', partitions: 1 });
  const dlqTopic = await createTestTopic({ prefix: 'apply-throws-dlq', partitions: 1 });
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const connection = connectKafka({ brokers, clientId: 'apply-throws-test', logger: pino({ level: 'silent' }) });
  const producer = await connection.producer();
  const admin = await connection.admin();

  // Two runs of job `etl` around a push of job `boom`, whose apply throws.
  const push = (job: string, run: string, value: number) =>
    buildMessage({ contentType: CONTENT_TYPE.text, job, grouping: {}, producerId: `${job}-${run}`, sequence: 0 }, counter(value));
  await producer.send(topic, [push('etl', 'r1', 3), push('boom', 'r1', 5), push('etl', 'r2', 4)]);

  const aggregate = new PartitionAggregate(options());
  const state: PartitionState = {
    apply: (b, now) => {
      if ((b as IngestBatch).job === 'boom') throw new Error('rule blew up on this push');
      return aggregate.apply(b as IngestBatch, now);
    },
    collect: (now) => aggregate.collect(now),
    get seriesCount() {
      return aggregate.seriesCount;
    },
    toState: () => aggregate.toState(),
  };
  const sent: string[] = [];
  const deadLetters = new DeadLetterQueue({ producer, topic: dlqTopic, maxMessageBytes: 1 << 20, logger, events: { sent: (reason) => void sent.push(reason.code) } });
  const decodeErrors: string[] = [];
  const consumer = connection.consumer({ groupId: testTopicName('apply-throws'), topics: [topic], fromBeginning: true, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const source = new KafkaSource({
    consumer,
    highWatermarks: (t) => admin.highWatermarks(t),
    checkpoints: { latest: async () => undefined } as unknown as CheckpointStore,
    deadLetters,
    decode: (record) => decodeRecord(record),
    states: { role: () => 'source', create: () => state, restore: () => state },
    owner: 'apply-throws-test',
    logger,
    events: { deadLetter: (code) => void decodeErrors.push(code) },
  });
  try {
    await source.start();
    // Past all three records (without the fix: never, the consumer crashing on the second again and again).
    const deadline = Date.now() + 60_000;
    while (source.partitions.get(`${topic}/0`)?.nextOffset !== 3n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const p = source.partitions.get(`${topic}/0`);
    expect(p?.nextOffset).toBe(3n);
    // The run after the poison record was applied: 3 + 4.
    const totals = aggregate.collect(Date.now()).filter((s) => s.labels.__name__ === 'rows_total');
    expect(totals.map((s) => ({ job: s.labels.job, value: s.value }))).toEqual([{ job: 'etl', value: 7 }]);
    expect(p!.lastConsumed?.offset).toBe('2');

    // In the DLQ, as it came, with why; counted by reason (prom_relay_dead_letters_total), not as a decode error.
    expect(sent).toEqual(['PROM_RELAY_SOURCE_APPLY']);
    expect(decodeErrors).toEqual([]);
    const letter = await readOne(brokers, dlqTopic);
    expect(letter.headers[DLQ_HEADERS.reason]).toBe('PROM_RELAY_SOURCE_APPLY');
    expect(letter.headers[DLQ_HEADERS.error]).toBe('apply: rule blew up on this push');
    expect(letter.headers[DLQ_HEADERS.offset]).toBe('1');
    expect(letter.headers['prom-relay-job']).toBe('boom');
    expect(letter.value).toBe(counter(5).toString());

    expect(lines.filter((l) => l.code === 'PROM_RELAY_SOURCE_APPLY')).toMatchObject([
      { level: 50, partition: `${topic}/0`, offset: '1', err: { message: 'rule blew up on this push' } },
    ]);
    // The consumer may restart for a broker's reasons while it joins a new group, never for this record.
    const crashes = lines.filter((l) => l.msg === 'kafka consumer crashed').map((l) => JSON.stringify(l.err));
    expect(crashes.filter((e) => e.includes('rule blew up'))).toEqual([]);
  } finally {
    source.stopConsuming();
    deadLetters.stop();
    await consumer.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
}, 120_000);

/** The first record of `topic`, its headers as strings. */
async function readOne(brokers: string[], topic: string): Promise<{ value: string; headers: Record<string, string> }> {
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: testTopicName('read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          resolve({ value: String(message.value), headers });
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}
