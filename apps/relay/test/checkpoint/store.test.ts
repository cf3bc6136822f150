import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_HEADERS, CheckpointStore, decodeCheckpoint, encodeCheckpoint, type CheckpointSkipReason, type CheckpointStoreOptions } from '../../src/checkpoint/index.js';
import { connectKafka, type KafkaConnection, type RelayAdmin, type RelayProducer } from '../../src/kafka/index.js';
import type { Checkpoint } from '../../src/model.js';

const logger = pino({ level: 'silent' });
let connection: KafkaConnection;
let admin: RelayAdmin;
let producer: RelayProducer;
const stores: CheckpointStore[] = [];

beforeAll(async () => {
  connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-checkpoint-test', logger });
  admin = await connection.admin();
  producer = await connection.producer();
});

afterAll(async () => {
  for (const s of stores) await s.stop();
  await producer.disconnect();
  await admin.disconnect();
});

function store(topic: string, owner: string, maxMessageBytes = 4 * 1024 * 1024, more: Partial<CheckpointStoreOptions> = {}): CheckpointStore {
  const s = new CheckpointStore({
    connection,
    producer,
    admin,
    topic,
    groupId: testTopicName('group'),
    owner,
    maxMessageBytes,
    createTopic: true,
    restoreTimeoutMs: 20_000,
    logger,
    ...more,
  });
  stores.push(s);
  return s;
}

const cp = (offset: string, state: unknown, partition = 0): Checkpoint => ({
  version: 1,
  topic: 'metrics',
  partition,
  offset,
  lastFlushTimestamp: 1_700_000_000_000 + Number(offset),
  state,
});

describe('checkpoint encoding', () => {
  it('round-trips and refuses garbage with PROM_RELAY_CHECKPOINT_CORRUPT', async () => {
    const value = await encodeCheckpoint(cp('42', { series: [['a', 1]] }));
    expect(await decodeCheckpoint(value)).toEqual(cp('42', { series: [['a', 1]] }));
    await expect(decodeCheckpoint(Buffer.from('not gzip'))).rejects.toMatchObject({ code: 'PROM_RELAY_CHECKPOINT_CORRUPT' });
    const wrongVersion = await encodeCheckpoint({ ...cp('1', null), version: 2 } as unknown as Checkpoint);
    await expect(decodeCheckpoint(wrongVersion)).rejects.toMatchObject({ code: 'PROM_RELAY_CHECKPOINT_CORRUPT' });
  });
});

describe('CheckpointStore on the real broker', () => {
  it('creates a compacted topic and restores the newest checkpoint in another process view', async () => {
    const topic = testTopicName('ckpt');
    const writer = store(topic, 'relay-a');
    await writer.start();
    await writer.write([cp('10', { v: 1 }), cp('5', { v: 'p1' }, 1)]);
    await writer.write([cp('20', { v: 2 })]);
    const reader = store(topic, 'relay-b');
    await reader.start();
    const latest = await reader.latest({ topic: 'metrics', partition: 0 });
    expect(latest?.checkpoint.offset).toBe('20');
    expect(latest?.checkpoint.state).toEqual({ v: 2 });
    expect(latest?.owner).toBe('relay-a');
    expect((await reader.latest({ topic: 'metrics', partition: 1 }))?.checkpoint.state).toEqual({ v: 'p1' });
    expect(await reader.latest({ topic: 'metrics', partition: 7 })).toBeUndefined();
    // A late write from a relay that lost the partition (lower offset) does not roll the state back.
    await writer.write([cp('15', { v: 'stale' })]);
    expect((await reader.latest({ topic: 'metrics', partition: 0 }))?.checkpoint.offset).toBe('20');
  });

  it('restores the newest flush time written beside a checkpoint, whoever wrote it and in whatever order', async () => {
    const topic = testTopicName('ckpt');
    const writer = store(topic, 'relay-a');
    await writer.start();
    await writer.write([cp('10', { v: 1 })]); // lastFlushTimestamp 1_700_000_000_010
    const flushTime = (partition: number, lastFlushTimestamp: number) => ({ topic: 'metrics', partition, offset: '10', lastFlushTimestamp });
    await writer.writeFlushTimes([flushTime(0, 1_700_000_005_000)]);
    // A late one from a relay whose clock was behind (or that lost the partition) does not lower it.
    await store(topic, 'relay-c').writeFlushTimes([flushTime(0, 1_700_000_004_000)]);
    // A flush time without a checkpoint restores nothing: the partition starts as it would without one.
    await writer.writeFlushTimes([flushTime(3, 1_700_000_005_000)]);
    const reader = store(topic, 'relay-b');
    await reader.start();
    const latest = await reader.latest({ topic: 'metrics', partition: 0 });
    expect(latest?.checkpoint).toMatchObject({ offset: '10', lastFlushTimestamp: 1_700_000_005_000, state: { v: 1 } });
    expect(await reader.latest({ topic: 'metrics', partition: 3 })).toBeUndefined();
    // A newer checkpoint's own timestamp wins once it passes the flush time.
    await writer.write([{ ...cp('11', { v: 2 }), lastFlushTimestamp: 1_700_000_006_000 }]);
    expect((await reader.latest({ topic: 'metrics', partition: 0 }))?.checkpoint.lastFlushTimestamp).toBe(1_700_000_006_000);
  });

  it('refuses a checkpoint over max.message.bytes before sending it', async () => {
    const topic = testTopicName('ckpt');
    const small = store(topic, 'relay-a', 8 * 1024);
    await small.start();
    // Random data does not compress: well over 8 KiB gzip'd.
    const big = Array.from({ length: 4000 }, () => Math.random().toString(36));
    await expect(small.write([cp('1', big)])).rejects.toMatchObject({ code: 'PROM_RELAY_CHECKPOINT_TOO_LARGE' });
  });

  it('raises max.message.bytes of an existing topic so a large checkpoint fits', async () => {
    const topic = await createTestTopic({ prefix: 'ckpt', compacted: true });
    const s = store(topic, 'relay-a', 3 * 1024 * 1024);
    await s.start();
    // ~2 MiB of incompressible state: over the broker default (1 MiB), under the raised topic limit.
    const big = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const state = big.toString('base64');
    await s.write([cp('3', state)]);
    const other = store(topic, 'relay-b', 3 * 1024 * 1024);
    await other.start();
    expect((await other.latest({ topic: 'metrics', partition: 0 }))?.checkpoint.state).toBe(state);
  });

  it('writes checkpoints that each fit the topic but not together in several requests (one was refused at every flush)', async () => {
    const topic = testTopicName('ckpt');
    const s = store(topic, 'relay-a', 1024 * 1024);
    await s.start();
    // Three partitions' states of ~400 KB each gzip'd: 1.2 MB together, over the topic's 1 MiB.
    const state = () => randomBytes(400 * 1024).toString('base64');
    const bytes = await s.write([cp('1', state(), 0), cp('2', state(), 1), cp('3', state(), 2)]);
    expect(bytes.reduce((a, b) => a + b, 0)).toBeGreaterThan(1024 * 1024);
    const reader = store(topic, 'relay-b', 1024 * 1024);
    await reader.start();
    for (const partition of [0, 1, 2]) expect((await reader.latest({ topic: 'metrics', partition }))?.checkpoint.offset).toBe(String(partition + 1));
  });

  it('counts and logs the records it cannot read as a checkpoint instead of leaving them out without a word', async () => {
    const topic = testTopicName('ckpt');
    const writer = store(topic, 'relay-a');
    await writer.start();
    await writer.write([cp('10', { v: 1 })]);
    // Another writer's records: a checkpoint without the offset header (its state would be another one's) and a flush
    // time that is no timestamp. (A record without a key the compacted topic refuses itself.)
    const value = await encodeCheckpoint(cp('30', { v: 'by hand' }));
    await producer.send(topic, [
      { key: 'metrics/0', value, headers: { [CHECKPOINT_HEADERS.owner]: 'kcat' } },
      { key: 'metrics/0#flush-time', value: Buffer.from('soon'), headers: { [CHECKPOINT_HEADERS.offset]: '30' } },
    ]);
    const skipped: CheckpointSkipReason[] = [];
    const lines: Record<string, unknown>[] = [];
    const logged = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const reader = store(topic, 'relay-b', undefined, { onSkipped: (reason) => skipped.push(reason), logger: logged });
    await reader.start();
    expect((await reader.latest({ topic: 'metrics', partition: 0 }))?.checkpoint).toMatchObject({ offset: '10', state: { v: 1 } });
    expect(skipped.sort()).toEqual(['bad_flush_time', 'no_offset']);
    expect(lines.filter((l) => l.code === 'PROM_RELAY_CHECKPOINT_SKIPPED').map((l) => l.reason).sort()).toEqual(['bad_flush_time', 'no_offset']);
  });
});
