// The relay's produce request encoder writes exactly kafkajs's bytes (compared on random requests), leaves to kafkajs
// what it does not write identically, and a real broker takes its batches (records read back as sent).
import { createRequire } from 'node:module';
import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectKafka } from '../../src/kafka/index.js';
import { crc32c, encodeProduce, produceEncoderCounts, type ProduceArgs } from '../../src/kafka/produce-encoder.js';

const require = createRequire(import.meta.url);
const kafkajsV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (a: ProduceArgs) => { encode(): Promise<{ buffer: Buffer }> };
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

afterEach(() => vi.restoreAllMocks());

/** A deterministic pseudo-random source. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomText(r: () => number, max: number): string {
  const alphabet = ['a', 'Z', '0', '_', '-', '/', ' ', 'é', '€', '𝄞', '{', '"'];
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function randomArgs(r: () => number): ProduceArgs {
  const bytesOrText = (max: number) => (r() < 0.5 ? Buffer.from(randomText(r, max)) : randomText(r, max));
  const shared = [
    Object.freeze({ 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': randomText(r, 12), 'prom-relay-grouping': `instance=${randomText(r, 300)}` }),
    Object.freeze({ 'prom-relay-op': 'push', multi: [randomText(r, 10), randomText(r, 10)] }),
    Object.freeze({}),
    // a Buffer can change under a frozen object: encoded per record
    Object.freeze({ 'prom-relay-job': Buffer.from(randomText(r, 10)) }),
  ];
  const topicData = Array.from({ length: 1 + Math.floor(r() * 2) }, (_, t) => ({
    topic: `topic-${t}-${randomText(r, 5)}`,
    partitions: Array.from({ length: 1 + Math.floor(r() * 3) }, (_, p) => ({
      partition: p,
      firstSequence: Math.floor(r() * 2 ** 31),
      // up to 200 records: offset deltas past one varint byte
      messages: Array.from({ length: 1 + Math.floor(r() * 200) }, () => {
        // Frozen headers shared by many records (as the HTTP ingest's are): written once as a block when all strings.
        if (r() < 0.4) return { key: bytesOrText(40), value: bytesOrText(200), headers: shared[Math.floor(r() * shared.length)] };
        const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
        for (let h = 0; h < Math.floor(r() * 6); h++) headers[`h-${h}-${randomText(r, 4)}`] = r() < 0.2 ? [bytesOrText(10), bytesOrText(10)] : bytesOrText(r() < 0.1 ? 300 : 20);
        return { key: r() < 0.1 ? null : bytesOrText(40), value: r() < 0.05 ? null : bytesOrText(r() < 0.1 ? 3000 : 200), headers };
      }),
    })),
  }));
  return {
    acks: -1,
    timeout: 30_000,
    transactionalId: r() < 0.2 ? `tx-${randomText(r, 8)}` : null,
    producerId: Long.fromValue(Math.floor(r() * 2 ** 40)),
    producerEpoch: Math.floor(r() * 100),
    compression: 0,
    topicData,
  };
}

describe('produce encoder', () => {
  it('writes the same bytes as kafkajs for random requests', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_764_600_000_123);
    const r = rng(14);
    for (let i = 0; i < 80; i++) {
      const args = randomArgs(r);
      const ours = encodeProduce(args);
      expect(ours, `request ${i}`).toBeDefined();
      const theirs = (await kafkajsV3(args).encode()).buffer;
      expect(Buffer.from(ours!.buf.subarray(0, ours!.offset)).equals(theirs), `request ${i}`).toBe(true);
    }
  }, 60_000);

  it('a frozen headers object whose array value changed is encoded anew, not from an earlier block', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_764_600_000_123);
    const values = ['a', 'b'];
    const headers = Object.freeze({ 'prom-relay-job': 'j', multi: values });
    const args = (): ProduceArgs => ({
      acks: -1,
      timeout: 30_000,
      transactionalId: null,
      producerId: Long.fromValue(7),
      producerEpoch: 0,
      compression: 0,
      topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages: [{ key: 'k', value: 'v', headers }] }] }],
    });
    const bytes = async () => {
      const ours = encodeProduce(args())!;
      return { ours: Buffer.from(ours.buf.subarray(0, ours.offset)), theirs: (await kafkajsV3(args()).encode()).buffer };
    };
    const first = await bytes();
    expect(first.ours.equals(first.theirs)).toBe(true);
    values[1] = 'changed';
    const second = await bytes();
    expect(second.ours.equals(second.theirs)).toBe(true);
    expect(second.ours.equals(first.ours)).toBe(false);
  });

  it('computes kafkajs CRC32C over every length and alignment', () => {
    const r = rng(7);
    const buf = Buffer.from(Array.from({ length: 300 }, () => Math.floor(r() * 256)));
    for (let start = 0; start < 9; start++) for (let end = start; end <= buf.length; end += 7) expect(crc32c(buf, start, end)).toBe(kafkajsCrc(buf.subarray(start, end)));
  });

  it('leaves compressed batches, own timestamps and other value types to kafkajs', () => {
    const base = { acks: -1, timeout: 1000, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] as { key: unknown; value: unknown; timestamp?: unknown; headers?: Record<string, unknown> }[] }] }] };
    expect(encodeProduce(base)).toBeDefined();
    expect(encodeProduce({ ...base, compression: 1 })).toBeUndefined();
    const withMessage = (m: Record<string, unknown>) => ({ ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', ...m }] }] }] });
    expect(encodeProduce(withMessage({ timestamp: '1764600000000' }))).toBeUndefined();
    expect(encodeProduce(withMessage({ value: 12 }))).toBeUndefined();
    expect(encodeProduce(withMessage({ headers: { a: null } }))).toBeUndefined();
  });

  it('a real broker takes the batches: records read back as sent, in order, per partition', async () => {
    const topic = testTopicName('produce-encoder');
    const connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'produce-encoder-test', logger: pino({ level: 'silent' }) });
    const admin = await connection.admin();
    await admin.ensureTopic(topic, { partitions: 2 });
    const producer = await connection.producer();
    const sent = Array.from({ length: 300 }, (_, i) => ({
      key: `key-${i % 7}`,
      value: Buffer.from(`value ${i} ${'é'.repeat(i % 50)}`),
      headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': `job-${i}`, multi: [`a${i}`, `b${i}`] },
      partition: i % 2,
    }));
    const before = produceEncoderCounts.encoded;
    await producer.send(topic, sent.slice(0, 150));
    await producer.send(topic, sent.slice(150));
    expect(produceEncoderCounts.encoded).toBeGreaterThan(before);
    await producer.disconnect();
    await admin.disconnect();

    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `${topic}-check` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got: { partition: number; key: string; value: string; job: string; multi: string[] }[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const h = message.headers!;
          got.push({ partition, key: message.key!.toString(), value: message.value!.toString(), job: String(h['prom-relay-job']), multi: (h.multi as Buffer[]).map(String) });
          if (got.length === sent.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const p of [0, 1]) {
      const want = sent.filter((m) => m.partition === p).map((m) => ({ partition: p, key: m.key, value: m.value.toString(), job: m.headers['prom-relay-job'], multi: m.headers.multi }));
      expect(got.filter((g) => g.partition === p)).toEqual(want);
    }
  }, 60_000);
});
