// A running source whose partition's log starts again lower (its topic deleted and created again) finds out from the
// fetch answers: the batches below are the ones kafkajs 2.2.4 delivered against a real broker in the measured run (the
// fetch at the state's offset out of range, kafkajs resetting the position to the log's start; the new log holding as
// many records as the state's offset, so its high watermark says nothing). The end-to-end test (a relay stopped while
// its topic is recreated) is test/regressions/recreated-input-topic-keeps-totals-exact.test.ts; a relay running then
// depends on kafkajs fetching again (see README *Limits*), which it did not do reliably.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CheckpointStore } from '../../src/checkpoint/index.js';
import type { DeadLetterQueue } from '../../src/dlq/index.js';
import type { BatchContext, ConsumerHandlers, KafkaRecord, RelayConsumer, TopicPartition } from '../../src/kafka/index.js';
import type { IngestBatch, RecordMark } from '../../src/model.js';
import { KafkaSource } from '../../src/source/index.js';

const tp: TopicPartition = { topic: 'metrics', partition: 1 };

/** A record of the log: `log` tells records at one offset of two logs apart (their timestamps). */
function record(offset: number, log = 1): KafkaRecord {
  return { ...tp, offset: String(offset), key: null, value: Buffer.from('x'), headers: {}, timestamp: String(1_700_000_000_000 + log * 1_000_000 + offset) };
}

function setup(checkpointOffset: number, watermarks: { low: number; high: number }, lastRecord?: RecordMark) {
  let handlers: ConsumerHandlers | undefined;
  const seeks: string[] = [];
  const consumer: RelayConsumer = {
    start: async (h) => void (handlers = h),
    seek: (_tp, offset) => void seeks.push(offset),
    pause: () => undefined,
    resume: () => undefined,
    commit: async () => undefined,
    stop: async () => undefined,
  };
  /** the offsets each applied push was named by (its position, as the aggregate names a delete's end) */
  const applied: string[] = [];
  const state = { apply: (b: IngestBatch) => void applied.push(b.position!.offset), collect: () => [], seriesCount: 0, toState: () => ({}) };
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const wentBack: Array<[bigint, bigint]> = [];
  const w = { ...watermarks };
  const source = new KafkaSource({
    consumer,
    highWatermarks: async () => new Map([[tp.partition, String(w.high)]]),
    watermarks: async () => new Map([[tp.partition, { low: String(w.low), high: String(w.high) }]]),
    checkpoints: {
      latest: async () => ({ owner: 'other', bytes: 1, checkpoint: { version: 1, ...tp, offset: String(checkpointOffset), lastFlushTimestamp: 0, state: {}, ...(lastRecord ? { lastRecord } : {}) } }),
    } as unknown as CheckpointStore,
    deadLetters: {} as DeadLetterQueue,
    decode: (r) => ({ producerId: 'p', job: 'j', grouping: {}, temporality: 'cumulative', op: 'push', points: [], position: { ...tp, offset: r.offset } }),
    states: { role: () => 'source', create: () => state, restore: () => state },
    owner: 'me',
    logger,
    events: { offsetsWentBack: (_p, from, to) => void wentBack.push([from, to]) },
  });
  const ctx: BatchContext = { heartbeat: async () => undefined, isRunning: () => true };
  const batch = (highWatermark: number, from: number, to: number, log = 1) =>
    handlers!.onBatch({ ...tp, highWatermark: String(highWatermark), records: Array.from({ length: to - from }, (_, i) => record(from + i, log)) }, ctx);
  return {
    async start() {
      await source.start();
      handlers!.onAssigned!([tp]);
      // The restore runs in the background: the first batch waits for it.
    },
    batch,
    partition: () => source.partitions.get('metrics/1')!,
    source,
    w,
    seeks,
    applied,
    wentBack,
    lines,
  };
}

describe('a running source whose log starts again lower', () => {
  it('a fetch kafkajs reset to the log start, the new log as long as the old: applied from the start, numbered after the old', async () => {
    const s = setup(6, { low: 0, high: 7 });
    await s.start();
    await s.batch(7, 6, 7);
    expect(s.applied).toEqual(['6']);
    expect(s.partition().publishedOffset).toBe(7n);

    // The topic is recreated; the fetch at 7 was out of range, kafkajs reset it to the earliest offset; by then the new
    // log holds 7 records again.
    s.w.high = 7;
    expect(await s.batch(7, 0, 7)).toBeUndefined();
    expect(s.applied).toEqual(['6']);
    expect(s.wentBack).toEqual([[7n, 0n]]);
    expect(s.seeks.at(-1)).toBe('0');
    const p = s.partition();
    expect({ next: p.nextOffset, base: p.offsetBase, published: p.publishedOffset, catchUpTo: p.catchUpTo }).toEqual({ next: 0n, base: 7n, published: 7n, catchUpTo: 7n });
    expect(p.caughtUp).toBe(false);
    // The fetch from the seek: every record of the new log applied, named after the old log's.
    expect(await s.batch(7, 0, 7)).toBe('6');
    expect(s.applied).toEqual(['6', '7', '8', '9', '10', '11', '12', '13']);
    expect(p.publishedOffset).toBe(14n);
    expect(p.caughtUp).toBe(true);
    expect(s.lines.filter((l) => l.code === 'PROM_RELAY_SOURCE_OFFSETS_WENT_BACK')).toMatchObject([
      { level: 40, topic: 'metrics', partition: 1, stateOffset: '7', logStart: '0', logEnd: '7', when: 'fetch', offsetBase: '7' },
    ]);
  });

  it('a fetch answer whose high watermark is below the state: the same, and the base adds up over recreations', async () => {
    const s = setup(20, { low: 0, high: 20 });
    await s.start();
    await s.batch(22, 20, 22);
    s.w.high = 3;
    expect(await s.batch(3, 0, 3)).toBeUndefined();
    expect(s.wentBack).toEqual([[22n, 0n]]);
    await s.batch(3, 0, 3);
    expect(s.applied.slice(-3)).toEqual(['22', '23', '24']);
    // Again: the log restarts a second time (its high watermark below the state's 3).
    s.w.high = 1;
    await s.batch(1, 0, 1);
    await s.batch(1, 0, 1);
    expect(s.wentBack).toEqual([[22n, 0n], [3n, 0n]]);
    expect(s.applied.at(-1)).toBe('25');
    expect(s.partition().publishedOffset).toBe(26n);
    // One line a minute per partition: the second is counted, its line held back.
    expect(s.lines.filter((l) => l.code === 'PROM_RELAY_SOURCE_OFFSETS_WENT_BACK')).toHaveLength(1);
  });

  it('records below the state that are not a reset (a re-delivery, a lagging high watermark) are skipped, nothing restarts', async () => {
    const s = setup(10, { low: 0, high: 20 });
    await s.start();
    await s.batch(20, 10, 12);
    // Delivered again from 11 (not the log's start): the log still reaches past the state.
    expect(await s.batch(20, 11, 14)).toBe('13');
    // A high watermark below the state in one answer, not confirmed by the admin client (a new leader's lagging).
    expect(await s.batch(13, 14, 15)).toBe('14');
    expect(s.wentBack).toEqual([]);
    expect(s.applied).toEqual(['10', '11', '12', '13', '14']);
    expect(s.partition().offsetBase).toBe(0n);
  });

  // A relay stopped while its topic was recreated and written to as far as the checkpoint's offset: the watermarks say
  // nothing, the record the state covers last does (the first fetch after the restore starts there).
  it('a restored state whose last record is another in the log: applied from the log start, numbered after the old', async () => {
    const s = setup(6, { low: 0, high: 9 }, { timestamp: record(5).timestamp, bytes: 1 });
    await s.start();
    expect(await s.batch(9, 5, 9, 2)).toBeUndefined();
    expect(s.applied).toEqual([]);
    expect(s.seeks).toEqual(['5', '0']);
    expect(s.wentBack).toEqual([[6n, 0n]]);
    expect(s.lines.find((l) => l.code === 'PROM_RELAY_SOURCE_OFFSETS_WENT_BACK')).toMatchObject({ when: 'last_record', logEnd: '9' });
    await s.batch(9, 0, 9, 2);
    expect(s.applied).toEqual(['6', '7', '8', '9', '10', '11', '12', '13', '14']);
    expect(s.partition().publishedOffset).toBe(15n);
  });

  it('a restored state whose last record is still there: goes on from its offset, the record not applied again', async () => {
    const s = setup(6, { low: 0, high: 9 }, { timestamp: record(5).timestamp, bytes: 1 });
    await s.start();
    expect(await s.batch(9, 5, 9)).toBe('8');
    expect(s.applied).toEqual(['6', '7', '8']);
    expect(s.wentBack).toEqual([]);
    expect(s.seeks).toEqual(['5']);
    // The group's offset ahead of the state: the fetch goes back to the last record, checked then.
    const t = setup(6, { low: 0, high: 12 }, { timestamp: record(5).timestamp, bytes: 1 });
    await t.start();
    expect(await t.batch(12, 10, 12, 2)).toBeUndefined();
    expect(t.seeks).toEqual(['5', '5']);
    expect(await t.batch(12, 5, 12, 2)).toBeUndefined();
    expect(t.wentBack).toEqual([[6n, 0n]]);
  });

  // kafkajs went on fetching at the state's offset in a recreated log already as long (no out-of-range, no lower high
  // watermark), as it did against a real broker: the periodic check fetches again a record from the previous round.
  it('a running partition whose log was replaced by one longer: found by the periodic check, from the new log start', async () => {
    const s = setup(6, { low: 0, high: 7 });
    await s.start();
    await s.batch(7, 6, 7);
    // A round: the record the first batch left as anchor (6) fetched again, as it was.
    s.source.checkLogs();
    expect(s.seeks).toEqual(['6', '6']);
    expect(await s.batch(7, 6, 7)).toBe('6');
    // The topic recreated; kafkajs fetches at 7 in the new log (9 records by then): 7 and 8, taken for the old log's.
    s.w.high = 9;
    expect(await s.batch(9, 7, 9, 2)).toBe('8');
    expect(s.applied).toEqual(['6', '7', '8']);
    s.source.checkLogs();
    expect(s.seeks.at(-1)).toBe('6');
    expect(await s.batch(9, 6, 9, 2)).toBeUndefined();
    expect(s.wentBack).toEqual([[9n, 0n]]);
    expect(s.seeks.at(-1)).toBe('0');
    expect(s.lines.find((l) => l.code === 'PROM_RELAY_SOURCE_OFFSETS_WENT_BACK')).toMatchObject({ when: 'last_record', logEnd: '9' });
    // The new log from its start, numbered after the old one's 9 offsets (7 and 8 applied again: a producer's sequence
    // numbers make that a no-op in the aggregate).
    await s.batch(9, 0, 9, 2);
    expect(s.applied.slice(3)).toEqual(['9', '10', '11', '12', '13', '14', '15', '16', '17']);
    expect(s.partition().publishedOffset).toBe(18n);
  });

  it('an unchanged log: the check fetches from its anchor, then goes back to where the state is', async () => {
    const t = setup(6, { low: 0, high: 12 });
    await t.start();
    await t.batch(12, 6, 9);
    t.source.checkLogs();
    await t.batch(12, 9, 12);
    t.source.checkLogs();
    expect(t.seeks.at(-1)).toBe('8');
    // Record 8 as it was: back to 12, the batch not applied (the records from 12 on come with the next fetch).
    expect(await t.batch(12, 8, 12)).toBeUndefined();
    expect(t.seeks.at(-1)).toBe('12');
    t.source.checkLogs();
    expect(t.seeks.at(-1)).toBe('11');
    expect(await t.batch(13, 11, 13)).toBe('12');
    expect(t.applied).toEqual(['6', '7', '8', '9', '10', '11', '12']);
    expect(t.wentBack).toEqual([]);
  });
});
