// An owner partition no partial reached since its checkpoint used to be checkpointed again every flush (its whole
// state: ~70-100 ms of CPU and ~1 MB on the checkpoint topic per 100k series), only because the checkpoint carries the
// last flush timestamp. Now it writes that timestamp alone (a flush-time record beside its checkpoint), and a relay
// taking the partition over restores the old checkpoint with the newest timestamp: with a clock behind it still stamps
// after the last sample sent, and the restored state writes the same totals.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { RemoteWriteClient } from '@prom-relay/push-client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/checkpoint/index.js';
import { Flusher } from '../../src/flush/index.js';
import { connectKafka, type KafkaConnection, type RelayAdmin, type RelayConsumer, type RelayProducer } from '../../src/kafka/index.js';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { OwnedPartition } from '../../src/source/index.js';

const logger = pino({ level: 'silent' });
const consumer = { commit: async () => undefined } as unknown as RelayConsumer;
const noPartials = { publish: () => Promise.reject(new Error('an owner partition published partials')) };
let prom: PrometheusServer;
let connection: KafkaConnection;
let admin: RelayAdmin;
let producer: RelayProducer;
const stores: CheckpointStore[] = [];

beforeAll(async () => {
  prom = await startPrometheus();
  connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-owner-flush-time-test', logger });
  admin = await connection.admin();
  producer = await connection.producer();
}, 60_000);

afterAll(async () => {
  for (const s of stores) await s.stop();
  await producer.disconnect();
  await admin.disconnect();
  await prom.stop();
});

async function store(topic: string, owner: string): Promise<CheckpointStore> {
  const s = new CheckpointStore({ connection, producer, admin, topic, groupId: testTopicName('g'), owner, maxMessageBytes: 1 << 20, createTopic: true, logger });
  stores.push(s);
  await s.start();
  return s;
}

const TTL = 3_600_000;

/** An owner of two counter series fed by one source partition, its state as of partials-topic offset 8. */
function owner(now: number): OwnedPartition {
  const combiner = new SeriesCombiner({ ttlMs: TTL });
  combiner.apply(
    {
      kind: 'partials',
      source: 'metrics/0',
      offset: 7,
      series: [
        { key: '__name__="owner_flush_time_total",job="a",', combine: 'total', value: 5, stale: false },
        { key: '__name__="owner_flush_time_total",job="b",', combine: 'total', value: 11, stale: false },
      ],
    },
    now,
  );
  return new OwnedPartition('prom-relay.partials', 3, 'owner', combiner, { nextOffset: 8n });
}

describe('an owner nothing was applied to since its checkpoint', () => {
  it('writes its flush timestamp, not its state; a takeover with a clock behind passes the last sample sent and writes the same totals', async () => {
    const topic = testTopicName('ckpt');
    const checkpoints = await store(topic, 'relay-a');
    const written: string[] = [];
    const counting = Object.assign(Object.create(checkpoints) as CheckpointStore, {
      write: (cps: Parameters<CheckpointStore['write']>[0]) => {
        for (const cp of cps) written.push(`${cp.partition}@${cp.offset}`);
        return checkpoints.write(cps);
      },
    });
    const t0 = Date.now();
    let now = t0;
    const partition = owner(t0);
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints: counting,
      consumer,
      partitions: () => [partition],
      logger,
      now: () => now,
      sendTimeoutMs: 5000,
    });
    for (let i = 0; i < 3; i++) {
      expect((await flusher.flush()).status).toBe('success');
      now += 1000;
    }
    // One checkpoint of the state; the two flushes after it changed nothing but the timestamp.
    expect(written).toEqual(['3@8']);
    expect(partition.lastFlushTimestamp).toBe(t0 + 2000);

    // Another relay takes the partition over: the checkpoint of the first flush, with the timestamp of the third.
    const reader = await store(topic, 'relay-b');
    const stored = (await reader.latest({ topic: 'prom-relay.partials', partition: 3 }))!;
    expect(stored.checkpoint.offset).toBe('8');
    expect(stored.checkpoint.lastFlushTimestamp).toBe(t0 + 2000);
    const restored = new OwnedPartition('prom-relay.partials', 3, 'owner', SeriesCombiner.fromState(stored.checkpoint.state, { ttlMs: TTL }), {
      nextOffset: BigInt(stored.checkpoint.offset),
      lastFlushTimestamp: stored.checkpoint.lastFlushTimestamp,
    });
    const behind = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints: reader,
      consumer,
      partitions: () => [restored],
      logger,
      now: () => t0 - 60_000, // its clock is a minute behind the first relay's
      sendTimeoutMs: 5000,
    });
    const after = await behind.flush();
    expect(after).toMatchObject({ status: 'success', timestamp: t0 + 2001, samplesSent: 2 });

    // Prometheus holds every sample in order, the totals unchanged across the takeover.
    const series = await prom.querySeries('owner_flush_time_total[10m]', t0 + 10_000);
    const byJob = Object.fromEntries(series.map((s) => [s.labels['job'], s.samples]));
    for (const [job, value] of [['a', 5], ['b', 11]] as const) {
      expect(byJob[job]).toEqual([0, 1000, 2000, 2001].map((d) => ({ value, timestamp: t0 + d })));
    }
  }, 60_000);
});
