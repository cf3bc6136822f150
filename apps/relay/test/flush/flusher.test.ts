import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { RemoteWriteClient } from '@prom-relay/push-client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionAggregate, type AggregateOptions } from '../../src/aggregate/index.js';
import { CheckpointStore } from '../../src/checkpoint/index.js';
import { Flusher, type FlushResult, type RemoteWriteSink } from '../../src/flush/index.js';
import type { Checkpoint } from '../../src/model.js';
import { connectKafka, type KafkaConnection, type RelayAdmin, type RelayConsumer, type RelayProducer } from '../../src/kafka/index.js';
import { OwnedPartition } from '../../src/source/index.js';

const logger = pino({ level: 'silent' });
const OPTS: AggregateOptions = {
  rules: [],
  seriesTtlMs: 600_000,
  producerTtlMs: 600_000,
  limits: { maxSeries: 1000, maxLabelsPerSeries: 32, maxLabelValueLength: 256 },
};
let prom: PrometheusServer;
let connection: KafkaConnection;
let admin: RelayAdmin;
let producer: RelayProducer;
const stores: CheckpointStore[] = [];
// Group offsets are not the subject here: commits are recorded, not sent (the flush ignores their failure anyway).
const commits: { topic: string; partition: number; offset: string }[][] = [];
const consumer = { commit: async (o: { topic: string; partition: number; offset: string }[]) => void commits.push(o) } as unknown as RelayConsumer;

beforeAll(async () => {
  prom = await startPrometheus();
  connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'relay-flush-test', logger });
  admin = await connection.admin();
  producer = await connection.producer();
}, 60_000);

afterAll(async () => {
  for (const s of stores) await s.stop();
  await producer.disconnect();
  await admin.disconnect();
  await prom.stop();
});

// These partitions are owners (they write out what they hold): nothing is ever published.
const noPartials = {
  publish: () => Promise.reject(new Error('an owner partition published partials')),
};

/** A checkpoint store on a fresh topic that also records each checkpoint written, as `<topic>/<partition>@<offset>`. */
async function recordingStore(): Promise<{ counting: CheckpointStore; written: string[] }> {
  const checkpoints = await store(testTopicName('ckpt'), 'relay-a');
  const written: string[] = [];
  const counting = Object.assign(Object.create(checkpoints) as CheckpointStore, {
    write: (cps: Parameters<CheckpointStore['write']>[0]) => {
      for (const cp of cps) written.push(`${cp.topic}/${cp.partition}@${cp.offset}`);
      return checkpoints.write(cps);
    },
  });
  return { counting, written };
}

async function store(topic: string, owner: string): Promise<CheckpointStore> {
  const s = new CheckpointStore({ connection, producer, admin, topic, groupId: testTopicName('g'), owner, maxMessageBytes: 1 << 20, createTopic: true, logger });
  stores.push(s);
  await s.start();
  return s;
}

function partitionWithTotals(lastFlushTimestamp: number): OwnedPartition {
  const agg = new PartitionAggregate(OPTS);
  agg.apply(
    {
      producerId: 'p1',
      job: 'flush-test',
      grouping: { instance: 'a' },
      temporality: 'cumulative',
      op: 'push',
      points: [{ family: 'flush_rows_total', type: 'counter', labels: { __name__: 'flush_rows_total', job: 'flush-test', instance: 'a' }, value: 7 }],
    },
    Date.now(),
  );
  return new OwnedPartition('metrics', 0, 'owner', agg, { nextOffset: 5n, lastFlushTimestamp });
}

describe('Flusher with a real checkpoint topic and a real Prometheus', () => {
  it('stamps strictly increasing timestamps even when the clock is behind the checkpointed last flush', async () => {
    const checkpointTopic = testTopicName('ckpt');
    const checkpoints = await store(checkpointTopic, 'relay-a');
    const last = Date.now() + 2000; // a previous run's last flush, ahead of this clock
    const partition = partitionWithTotals(last);
    const results: FlushResult[] = [];
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints,
      consumer,
      partitions: () => [partition],
      logger,
      now: () => last - 60_000,
      sendTimeoutMs: 5000,
      onFlush: (r) => results.push(r),
    });
    expect((await flusher.flush()).status).toBe('success');
    expect((await flusher.flush()).status).toBe('success');
    expect(results.map((r) => r.timestamp)).toEqual([last + 1, last + 2]);

    const series = await prom.querySeries('flush_rows_total[10m]', last + 10_000);
    expect(series).toHaveLength(1);
    expect(series[0]!.samples).toEqual([
      { value: 7, timestamp: last + 1 },
      { value: 7, timestamp: last + 2 },
    ]);
    // The checkpoint carries the last timestamp and the offset the state covers; offsets were committed for lag.
    const reader = await store(checkpointTopic, 'relay-b');
    const stored = await reader.latest({ topic: 'metrics', partition: 0 });
    expect(stored?.checkpoint.lastFlushTimestamp).toBe(last + 2);
    expect(stored?.checkpoint.offset).toBe('5');
    expect(commits.at(-1)).toEqual([{ topic: 'metrics', partition: 0, offset: '5' }]);
    const restored = PartitionAggregate.fromState(stored!.checkpoint.state, OPTS);
    expect(restored.collect(last + 3).map((s) => s.value)).toEqual([7]);
  }, 60_000);

  it('keeps checkpointing when the remote write receiver is unreachable, and reports the failure', async () => {
    const checkpoints = await store(testTopicName('ckpt'), 'relay-a');
    const partition = partitionWithTotals(0);
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: 'http://127.0.0.1:9/api/v1/write', timeoutMs: 300 }),
      publisher: noPartials,
      checkpoints,
      consumer,
      partitions: () => [partition],
      logger,
      sendTimeoutMs: 1000,
    });
    const result = await flusher.flush();
    expect(result.status).toBe('failure');
    expect(result.samplesSent).toBe(0);
    expect(result.samplesFailed).toBeGreaterThan(0);
    expect(result.checkpointBytes).toHaveLength(1);
    expect(partition.lastCheckpointAt).toBeDefined();
    expect((await checkpoints.latest({ topic: 'metrics', partition: 0 }))?.checkpoint.offset).toBe('5');
  }, 30_000);

  it('sends nothing and checkpoints nothing for a partition not yet known to any offset', async () => {
    const checkpoints = await store(testTopicName('ckpt'), 'relay-a');
    const fresh = new OwnedPartition('metrics', 1, 'owner', new PartitionAggregate(OPTS), {});
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints,
      consumer,
      partitions: () => [fresh],
      logger,
      sendTimeoutMs: 1000,
    });
    expect((await flusher.flush()).status).toBe('empty');
    expect(await checkpoints.latest({ topic: 'metrics', partition: 1 })).toBeUndefined();
  }, 30_000);
});

describe('Flusher: a partition nothing was applied to is not checkpointed again', () => {
  it('writes its checkpoint once while its offset stands, again once it moves; an owner meanwhile its flush time alone', async () => {
    const { counting, written } = await recordingStore();
    const agg = new PartitionAggregate(OPTS);
    const source = new OwnedPartition('metrics', 1, 'source', agg, { nextOffset: 3n });
    const owner = partitionWithTotals(0);
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: { publish: async () => ({ messages: 0, partials: 0, bytes: 0 }) },
      checkpoints: counting,
      consumer,
      partitions: () => [source, owner],
      logger,
      sendTimeoutMs: 5000,
    });
    await flusher.flush();
    await flusher.flush();
    await flusher.flush();
    expect(written).toEqual(['metrics/1@3', 'metrics/0@5']);
    source.nextOffset = 4n;
    owner.nextOffset = 6n;
    await flusher.flush();
    expect(written.slice(2)).toEqual(['metrics/1@4', 'metrics/0@6']);
    // Its checkpoint still covers its state: as fresh as the last flush.
    expect(Date.now() - source.lastCheckpointAt!).toBeLessThan(5_000);
    await flusher.flush();
    expect(written).toHaveLength(4);
    expect(Date.now() - owner.lastCheckpointAt!).toBeLessThan(5_000);
    // The owner's stored checkpoint carries the timestamp of its last flush, written apart.
    const stored = await (Object.getPrototypeOf(counting) as CheckpointStore).latest({ topic: 'metrics', partition: 0 });
    expect(stored?.checkpoint.offset).toBe('6');
    expect(stored?.checkpoint.lastFlushTimestamp).toBe(owner.lastFlushTimestamp);
  }, 60_000);
});

describe('Flusher: flush.source_checkpoint_interval', () => {
  it('checkpoints a source partition with new records at most that often; the final flush checkpoints it whatever', async () => {
    const { counting, written } = await recordingStore();
    const source = new OwnedPartition('metrics', 1, 'source', new PartitionAggregate(OPTS), { nextOffset: 3n });
    let now = 1_000_000;
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: { publish: async () => ({ messages: 0, partials: 0, bytes: 0 }) },
      checkpoints: counting,
      consumer,
      partitions: () => [source],
      logger,
      now: () => now,
      sendTimeoutMs: 5000,
      sourceCheckpointIntervalMs: 30_000,
    });
    await flusher.flush();
    source.nextOffset = 10n;
    now += 10_000;
    await flusher.flush();
    expect(written).toEqual(['metrics/1@3']);
    // Its checkpoint lags the records applied: the age shows it.
    expect(now - source.lastCheckpointAt!).toBe(10_000);
    now += 25_000;
    await flusher.flush();
    expect(written).toEqual(['metrics/1@3', 'metrics/1@10']);
    source.nextOffset = 12n;
    now += 1_000;
    await flusher.flush({ checkpointAll: true });
    expect(written).toEqual(['metrics/1@3', 'metrics/1@10', 'metrics/1@12']);
  }, 60_000);
});

describe('Flusher: the snapshot lets the event loop run between partitions', () => {
  it('runs timers between one partition and the next, and leaves out a partition that stopped being ours meanwhile', async () => {
    const { counting, written } = await recordingStore();
    // Three owner partitions; the first one's collect schedules a timer and revokes the third (a rebalance).
    const parts = [0, 1, 2].map((i) => {
      const p = partitionWithTotals(0);
      return new OwnedPartition('metrics', i, 'owner', p.aggregate, { nextOffset: BigInt(5 + i) });
    });
    let owned = [...parts];
    const events: string[] = [];
    const first = parts[0]!.aggregate;
    const collect = first.collect.bind(first);
    first.collect = (now: number) => {
      events.push('collect 0');
      setImmediate(() => {
        events.push('event loop');
        owned = owned.filter((p) => p !== parts[2]);
      });
      return collect(now);
    };
    const second = parts[1]!.aggregate;
    const collect1 = second.collect.bind(second);
    second.collect = (now: number) => {
      events.push('collect 1');
      return collect1(now);
    };
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints: counting,
      consumer,
      partitions: () => owned,
      logger,
      sendTimeoutMs: 5000,
    });
    const result = await flusher.flush();
    expect(events).toEqual(['collect 0', 'event loop', 'collect 1']);
    expect(result.partitions).toBe(2);
    expect(written).toEqual(['metrics/0@5', 'metrics/1@6']);
  }, 60_000);
});

describe('Flusher: a written checkpoint lets go of its state', () => {
  it('drops the state once the checkpoint is written, while the send still runs; the stored checkpoint has it all', async () => {
    const checkpoints = await store(testTopicName('ckpt'), 'relay-a');
    const held: Checkpoint[] = [];
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const recording = Object.assign(Object.create(checkpoints) as CheckpointStore, {
      write: async (cps: Checkpoint[]) => {
        held.push(...cps);
        const bytes = await checkpoints.write(cps);
        written();
        return bytes;
      },
    });
    // The send outlasts the checkpoint (a slow receiver): it answers only once released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const sink: RemoteWriteSink = {
      write: async (series) => {
        await released;
        return { status: 'success', counts: { samplesSent: series.length, samplesFailed: 0, samplesRetried: 0 } };
      },
    };
    const flusher = new Flusher({ sink, publisher: noPartials, checkpoints: recording, consumer, partitions: () => [partitionWithTotals(0)], logger, sendTimeoutMs: 5000 });
    const flushing = flusher.flush();
    await wrote;
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(1);
    expect(held[0]!.state).toBeNull();
    release();
    expect((await flushing).status).toBe('success');
    const stored = await checkpoints.latest({ topic: 'metrics', partition: 0 });
    expect(stored?.checkpoint.offset).toBe('5');
    const restored = PartitionAggregate.fromState(stored!.checkpoint.state, OPTS);
    expect(restored.collect(Date.now()).map((s) => [s.labels.__name__, s.value])).toEqual([['flush_rows_total', 7]]);
  }, 60_000);
});

describe('Flusher: a partition whose snapshot throws is not silent', () => {
  it('leaves that partition out, sends the others, and reports a failure (counted, /readyz reads lastResult)', async () => {
    const { counting, written } = await recordingStore();
    const good = partitionWithTotals(0);
    const bad = new OwnedPartition('metrics', 1, 'owner', partitionWithTotals(0).aggregate, { nextOffset: 6n });
    bad.aggregate.collect = () => {
      throw new RangeError('Invalid array length');
    };
    const results: FlushResult[] = [];
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints: counting,
      consumer,
      partitions: () => [bad, good],
      logger,
      sendTimeoutMs: 5000,
      onFlush: (r) => results.push(r),
    });
    const result = await flusher.flush();
    expect(result.status).toBe('failure');
    expect(String(result.error)).toContain('Invalid array length');
    expect(result.samplesSent).toBe(1);
    expect(written).toEqual(['metrics/0@5']);
    expect(flusher.lastResult).toBe(result);
    expect(results.map((r) => r.status)).toEqual(['failure']);
  }, 60_000);

  it('a flush that throws outside any partition is a failure result too, not a rejection', async () => {
    const { counting } = await recordingStore();
    const results: FlushResult[] = [];
    const flusher = new Flusher({
      sink: new RemoteWriteClient({ url: prom.remoteWriteUrl }),
      publisher: noPartials,
      checkpoints: counting,
      consumer,
      partitions: () => {
        throw new Error('partitions unreadable');
      },
      logger,
      sendTimeoutMs: 5000,
      onFlush: (r) => results.push(r),
    });
    const result = await flusher.flush();
    expect(result.status).toBe('failure');
    expect(String(result.error)).toContain('partitions unreadable');
    expect(flusher.lastResult).toBe(result);
    expect(results.map((r) => r.status)).toEqual(['failure']);
  }, 30_000);
});
