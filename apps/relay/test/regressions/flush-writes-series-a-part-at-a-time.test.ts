// A flush used to make one TimeSeries (its samples array, its Sample) per owned series for the whole flush and hand
// them to one Remote Write call, which held them all until its last request was answered: ~20 MB per 100k series,
// most of it promoted to the old generation each flush (issue 14 goal 4, RSS per series after flushes). Now the flush
// feeds the client's writeStream a part at a time, making a part only once the requests before it are under way.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { RemoteWriteClient } from '@prom-relay/push-client';
import type { TimeSeries } from '@prom-relay/codec';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointStore } from '../../src/checkpoint/index.js';
import { Flusher } from '../../src/flush/index.js';
import type { RelayConsumer } from '../../src/kafka/index.js';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { OwnedPartition } from '../../src/source/index.js';

const logger = pino({ level: 'silent' });
let prom: PrometheusServer;

beforeAll(async () => {
  prom = await startPrometheus();
}, 60_000);

afterAll(async () => {
  await prom.stop();
});

/** An owner partition of `n` counter series, series i at value i. */
function owner(partition: number, n: number, now: number): OwnedPartition {
  const combiner = new SeriesCombiner({ ttlMs: 3_600_000 });
  const series = Array.from({ length: n }, (_, i) => ({ key: `__name__="parts_rows_total",p="${partition}",series="${i}",`, combine: 'total' as const, value: i, stale: false }));
  combiner.apply({ kind: 'partials', source: 'metrics/0', offset: 1, series }, now);
  return new OwnedPartition('prom-relay.partials', partition, 'owner', combiner, { nextOffset: 2n });
}

describe('a flush writes its series a part at a time', () => {
  it('hands the client one part after another, each only once the one before is under way, and every series lands', async () => {
    const client = new RemoteWriteClient({ url: prom.remoteWriteUrl, maxSamplesPerRequest: 400, concurrency: 1 });
    const parts: number[] = [];
    let adding = 0;
    let overlapped = false;
    const open = client.writeStream.bind(client);
    client.writeStream = (options) => {
      const stream = open(options);
      return {
        add: async (series) => {
          if (adding > 0) overlapped = true;
          adding++;
          parts.push(series.length);
          try {
            await stream.add(series);
          } finally {
            adding--;
          }
        },
        end: () => stream.end(),
      };
    };
    // The checkpoint is not the subject: written nowhere.
    const checkpoints = { write: async (cps: unknown[]) => cps.map(() => 0), writeFlushTimes: async () => undefined } as unknown as CheckpointStore;
    const now = Date.now();
    const partitions = [owner(0, 1500, now), owner(1, 1200, now)];
    const flusher = new Flusher({
      sink: client,
      publisher: { publish: () => Promise.reject(new Error('owners publish nothing')) },
      checkpoints,
      consumer: { commit: async () => undefined } as unknown as RelayConsumer,
      partitions: () => partitions,
      logger,
      sendTimeoutMs: 10_000,
    });
    const result = await flusher.flush();
    expect(result).toMatchObject({ status: 'success', series: 2700, samplesSent: 2700 });
    expect(parts).toEqual([1000, 500, 1000, 200]);
    expect(overlapped).toBe(false);

    const sum = await prom.query('sum by (p) (parts_rows_total)', result.timestamp);
    const byPartition = Object.fromEntries(sum.map((s) => [s.labels['p'], s.value]));
    expect(byPartition).toEqual({ '0': (1499 * 1500) / 2, '1': (1199 * 1200) / 2 });
    expect((await prom.query('count(parts_rows_total)', result.timestamp))[0]!.value).toBe(2700);
    await client.close();
  }, 60_000);

  it('a sink without writeStream still gets the whole flush in one write', async () => {
    const calls: TimeSeries[][] = [];
    const sink = {
      write: async (series: TimeSeries[]) => {
        calls.push(series);
        return { status: 'success' as const, counts: { samplesSent: series.length, samplesFailed: 0, samplesRetried: 0 } };
      },
    };
    const checkpoints = { write: async (cps: unknown[]) => cps.map(() => 0), writeFlushTimes: async () => undefined } as unknown as CheckpointStore;
    const flusher = new Flusher({
      sink,
      publisher: { publish: () => Promise.reject(new Error('owners publish nothing')) },
      checkpoints,
      consumer: { commit: async () => undefined } as unknown as RelayConsumer,
      partitions: () => [owner(0, 1500, Date.now())],
      logger,
      sendTimeoutMs: 10_000,
    });
    expect(await flusher.flush()).toMatchObject({ status: 'success', samplesSent: 1500 });
    expect(calls.map((c) => c.length)).toEqual([1500]);
    expect(calls[0]!.map((s) => s.samples[0]!.value)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
  }, 30_000);
});
