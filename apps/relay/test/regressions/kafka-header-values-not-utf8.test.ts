// Issue 10 item 4: Kafka header values that are not UTF-8 were silently replaced with U+FFFD (two producers' bytes
// could then name one job). Such a record is dead-lettered as PROM_RELAY_DECODE_HEADER naming the header; so is a
// grouping header whose percent-escapes do not decode to UTF-8. Read back from a real broker, as the consumer gets it.
import { Kafka, logLevel } from 'kafkajs';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DecodeError, decodeRecord } from '../../src/decode/index.js';
import type { IngestBatch } from '../../src/model.js';

const kafka = new Kafka({ clientId: 'not-utf8', brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
const producer = kafka.producer();

beforeAll(async () => {
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
});

/** Produces one record with raw header bytes and decodes it as the relay's consumer does (kafkajs gives Buffers). */
async function roundTrip(headers: Record<string, Buffer>): Promise<IngestBatch | DecodeError> {
  const topic = await createTestTopic({ prefix: 'not-utf8' });
  await producer.send({ topic, messages: [{ key: 'job=j', value: Buffer.from('# TYPE u_rows_total counter\nu_rows_total 1\n'), headers }] });
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise((resolve) => {
      void consumer.run({
        eachMessage: async ({ topic: t, partition, message }) => {
          try {
            resolve(decodeRecord({ topic: t, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} }));
          } catch (err) {
            if (err instanceof DecodeError) resolve(err);
            else throw err;
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

const base = {
  'content-type': Buffer.from('text/plain; version=0.0.4'),
  'prom-relay-job': Buffer.from('j'),
  'prom-relay-producer': Buffer.from('p-1'),
};

it('a job header that is not UTF-8 is a HEADER dead letter, not a job named with U+FFFD', async () => {
  const got = await roundTrip({ ...base, 'prom-relay-job': Buffer.from([0x6a, 0xff, 0x6b]) });
  expect(got).toBeInstanceOf(DecodeError);
  expect((got as DecodeError).code).toBe('PROM_RELAY_DECODE_HEADER');
  expect((got as DecodeError).message).toBe('header prom-relay-job is not valid UTF-8');
}, 60_000);

it('a producer id or grouping header that is not UTF-8, or percent-escapes that are not, is refused too', async () => {
  for (const [headers, problem] of [
    [{ 'prom-relay-producer': Buffer.from([0xc3, 0x28]) }, 'header prom-relay-producer is not valid UTF-8'],
    [{ 'prom-relay-grouping': Buffer.from([0x69, 0x3d, 0xe2, 0x82]) }, 'header prom-relay-grouping is not valid UTF-8'],
    [{ 'prom-relay-grouping': Buffer.from('instance=%FF%FE') }, '"%FF%FE" is not valid percent-encoded UTF-8'],
  ] as const) {
    const got = await roundTrip({ ...base, ...headers });
    expect(got instanceof DecodeError ? [got.code, got.message] : 'decoded').toEqual(['PROM_RELAY_DECODE_HEADER', expect.stringContaining(problem)]);
  }
}, 90_000);

it('UTF-8 header values, non-ASCII included, decode as before', async () => {
  const got = await roundTrip({ ...base, 'prom-relay-job': Buffer.from('jöb-✓'), 'prom-relay-grouping': Buffer.from('region=%C3%A9u&zone=b+c') });
  expect(got instanceof DecodeError ? got.message : { job: got.job, grouping: got.grouping }).toEqual({ job: 'jöb-✓', grouping: { region: 'éu', zone: 'b c' } });
}, 60_000);
