// Producer homes are where the Java client's and kafkajs's default partitioner put the format's key: checked against
// kafkajs's own partitioner for many keys (lengths 0–40, ASCII and multi-byte) and partition counts.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildMessageKey } from '@prom-relay/emitter';
import { pino } from 'pino';
import type { KafkaRecord, ProducedMessage } from '../../src/kafka/index.js';
import { FORWARDED_HEADER, ProducerHomes, homePartition } from '../../src/repartition/index.js';

const { Partitioners } = kafkajs;

describe('homePartition', () => {
  it('equals kafkajs DefaultPartitioner (murmur2) for every key length and partition count', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const keys = [''];
    for (let n = 1; n <= 40; n++) keys.push(`job=${'x'.repeat(n)}`.slice(0, n), `job=nightly-ëxport-${n},region=eu-${'é'.repeat(n % 5)}`);
    for (const partitions of [1, 2, 3, 5, 12, 64]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (const key of keys) {
        const theirs = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect({ key, partitions, p: homePartition(key, partitions) }).toEqual({ key, partitions, p: theirs });
      }
    }
  });
});

describe('ProducerHomes: a push landed elsewhere is forwarded from its headers, undecoded, together with its neighbours', () => {
  const record = (partition: number, headers: Record<string, string>, value = 'not even a valid body'): KafkaRecord => ({
    topic: 'metrics',
    partition,
    offset: String(partition * 10),
    key: null,
    value: Buffer.from(value),
    headers,
    timestamp: '1700000000000',
  });
  const push = { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'nightly', 'prom-relay-producer': 'p1', 'prom-relay-grouping': 'instance=h1&region=eu' };

  async function homes(maxMessageBytes?: number) {
    const sent: Array<[string, ProducedMessage[]]> = [];
    const h = new ProducerHomes(
      { highWatermarks: async () => new Map([0, 1, 2, 3, 4].map((p) => [p, '0'])), maxMessageBytes: async () => maxMessageBytes } as never,
      { send: async (topic: string, messages: ProducedMessage[]) => void sent.push([topic, messages]) } as never,
      ['metrics'],
      ['instance'],
      pino({ level: 'silent' }),
    );
    await h.start();
    h.stop();
    return { h, sent };
  }

  it('homeOf reads the home from the headers: the key the format prescribes, murmur2, as the decoder would see it', async () => {
    const { h } = await homes();
    const expected = homePartition(buildMessageKey('nightly', { instance: 'h1', region: 'eu' }, ['instance']), 5);
    expect(h.homeOf(record(0, push))).toBe(expected);
    const decoded = { job: 'nightly', grouping: { instance: 'h1', region: 'eu' }, temporality: 'cumulative' as const, op: 'push' as const };
    expect(h.homeOf(record(0, push))).toBe(h.partitionOf(record(0, push), decoded));
    // Applied where they are: a forwarded copy, a delta push, a whole-job delete, headers the decoder refuses, another topic.
    expect(h.homeOf(record(0, { ...push, [FORWARDED_HEADER]: 'metrics/3/7' }))).toBeUndefined();
    expect(h.homeOf(record(0, { ...push, 'prom-relay-temporality': 'delta' }))).toBeUndefined();
    expect(h.homeOf(record(0, { 'prom-relay-job': 'nightly', 'prom-relay-producer': 'p1', 'prom-relay-op': 'delete' }))).toBeUndefined();
    expect(h.homeOf(record(0, { ...push, 'prom-relay-seq': 'seven' }))).toBeUndefined();
    expect(h.homeOf({ ...record(0, push), topic: 'other' })).toBeUndefined();
  });

  it('forward sends many records in one produce request per topic, each to its partition, marked and with its timestamp', async () => {
    const { h, sent } = await homes();
    await h.forward([
      { record: record(0, push), partition: 3 },
      { record: record(1, push), partition: 2 },
    ]);
    expect(sent).toHaveLength(1);
    const [topic, messages] = sent[0]!;
    expect(topic).toBe('metrics');
    expect(messages.map((m) => [m.partition, m.headers?.[FORWARDED_HEADER], m.timestamp])).toEqual([
      [3, 'metrics/0/0', '1700000000000'],
      [2, 'metrics/1/10', '1700000000000'],
    ]);
  });

  it('forward cuts the produce requests to the topic max.message.bytes, records in order (together they would be refused for ever)', async () => {
    const { h, sent } = await homes(100_000);
    const big = 'x'.repeat(30_000);
    await h.forward(Array.from({ length: 7 }, (_, i) => ({ record: { ...record(i % 2, push, big), offset: String(i) }, partition: 3 })));
    expect(sent.map(([, messages]) => messages.length)).toEqual([3, 3, 1]);
    expect(sent.flatMap(([, messages]) => messages.map((m) => m.headers?.[FORWARDED_HEADER]))).toEqual(
      Array.from({ length: 7 }, (_, i) => `metrics/${i % 2}/${i}`),
    );
    // A topic whose limit is unknown is taken to have Kafka's default (1 MiB).
    const unknown = await homes();
    await unknown.h.forward(Array.from({ length: 40 }, (_, i) => ({ record: record(0, push, big), partition: i % 5 })));
    expect(unknown.sent.map(([, messages]) => messages.length)).toEqual([34, 6]);
  });
});
