// A partition whose log started again at lower offsets (its topic deleted and created again, a truncation) while its
// state (checkpoint, or the relay's memory) covers offsets the log no longer holds. Left alone, the source would skip the
// new records below its offset as already applied, and publish what it applies at offsets below what it said before,
// which owners take for replays (outdated). Instead the state goes on, as through a restart (its counter baselines
// kept: a push of the new log adds what it adds), from the new log's start, and what it publishes is numbered after
// everything it published before (OwnedPartition.offsetBase): owners apply it, in order, without a word about it.
//
// Found three ways, the source asking at each: at a restore (checkAtRestore: the log ends below the state, or the record
// the state covers last is another), in a fetch answer (checkFetch: a high watermark below the state, or kafkajs reset an
// out-of-range fetch to the log's start), and by the periodic record check (checkRound, every `logCheckEveryMs`).
import type { Logger } from 'pino';
import type { BatchContext, KafkaRecord, RecordBatch, RelayConsumer } from '../kafka/index.js';
import { RateLimitedLog } from '../log/rate-limited.js';
import { recordBytes, seekTo, type OwnedPartition } from './partitions.js';

export const OFFSETS_WENT_BACK = 'PROM_RELAY_SOURCE_OFFSETS_WENT_BACK';

export interface Watermarks {
  /** the log's first offset */
  low: bigint;
  /** its next offset */
  high: bigint;
}

export interface LogRestartsOptions {
  /** log start and high watermark per partition of a topic (the admin client's) */
  watermarks: (topic: string) => Promise<Map<number, { low: string; high: string }>>;
  logger: Logger;
  /** counts a partition's log found started again */
  onRestart?: (p: OwnedPartition, from: bigint, to: bigint) => void;
  /** the source's consumer: a partition found started again (or to be checked) is seeked */
  consumer: Pick<RelayConsumer, 'seek'>;
  /** false once the partition is not the source's any more (moved away, restored anew) or the relay stops */
  isCurrent: (p: OwnedPartition) => boolean;
}

export class LogRestarts {
  private readonly log: RateLimitedLog;

  constructor(private readonly opts: LogRestartsOptions) {
    this.log = new RateLimitedLog(opts.logger, { limit: 1, intervalMs: 60_000 });
  }

  /**
   * The partition's watermarks, read now, when its log started again lower: it ends below the offset its state covers,
   * or `resetTo` (the first offset of a fetch that kafkajs moved there by itself, below the state's: its fetch was out of
   * range) is the log's start, where kafkajs resets the position (`kafka.from_beginning`; a log recreated with as many
   * records as the old one by then shows nothing else). Undefined otherwise (or when the topic is not there to ask). A
   * fetch answer's high watermark is only a hint (a new leader's can lag a moment): this asks again.
   */
  async startedAgain(p: OwnedPartition, resetTo?: bigint): Promise<Watermarks | undefined> {
    if (p.nextOffset === undefined) return undefined;
    const w = (await this.opts.watermarks(p.topic)).get(p.partition);
    if (w === undefined) return undefined;
    const low = BigInt(w.low);
    const high = BigInt(w.high);
    return high < p.nextOffset || (resetTo !== undefined && resetTo <= low) ? { low, high } : undefined;
  }

  /** The partition's watermarks, read now (undefined: the topic is not there to ask). */
  async watermarks(p: OwnedPartition): Promise<Watermarks | undefined> {
    const w = (await this.opts.watermarks(p.topic)).get(p.partition);
    return w === undefined ? undefined : { low: BigInt(w.low), high: BigInt(w.high) };
  }

  /**
   * Moves the partition's state onto the new log: it applies from the log's start, its offsets published above every
   * one it published before, and it is flushed once it has applied what the log held now (as after any takeover). The
   * caller seeks the consumer to `nextOffset`.
   */
  continueOn(p: OwnedPartition, w: Watermarks, when: 'restore' | 'fetch' | 'last_record'): void {
    const from = p.nextOffset!;
    // The new log's first offset is published as the old log's next one was: everything from it on is newer.
    p.offsetBase += from - w.low;
    p.nextOffset = w.low;
    p.catchUpTo = w.high;
    p.highWatermark = w.high;
    // A checkpoint of the old log's offsets no longer covers the state's: the next flush writes one.
    p.checkpointedOffset = undefined;
    p.positioned = true;
    p.forgetLastRecord();
    this.opts.onRestart?.(p, from, w.low);
    this.log.log(
      'warn',
      p.key,
      { code: OFFSETS_WENT_BACK, topic: p.topic, partition: p.partition, stateOffset: from.toString(), logStart: w.low.toString(), logEnd: w.high.toString(), when, offsetBase: p.offsetBase.toString() },
      "a partition's log ends below the offset its state covers (its topic deleted and created again, or truncated): the state goes on from the new log's start, as after a restart (producer baselines kept), and what it publishes is numbered after what it published before; records of the old log not yet applied are gone with it",
    );
  }

  /**
   * At a restore, `high` the partition's high watermark read before its checkpoint: a state covering offsets above it
   * means its log started again lower, unless a checkpoint was written after that read (asked again). Otherwise the
   * record the state covers last is fetched again first (a new log that holds as many records already has another there:
   * see checkRecord).
   */
  async checkAtRestore(p: OwnedPartition, high: string | undefined): Promise<void> {
    if (high === undefined || p.nextOffset === undefined) return;
    if (BigInt(high) < p.nextOffset) {
      const w = await this.startedAgain(p);
      if (w !== undefined) return this.continueOn(p, w, 'restore');
    }
    p.verifyAt = p.lastRecordAt;
    p.anchor = p.verifyAt;
  }

  /**
   * One round of the periodic check, for a partition owned and not being applied to right now: it fetches again the
   * record its state covered last at the previous round (its anchor), which checkRecord compares, then goes on where it
   * was. A topic deleted and created again under a running relay does not always show in fetch answers: kafkajs 2.2.4
   * went on fetching at the state's offset in the new log when that log was already as long (its records below skipped,
   * without a word; the records it applied then are the new log's, so the anchor is one from before). Costs a fetch from
   * the anchor per partition and round (records since then, up to the consumer's fetch size).
   */
  checkRound(p: OwnedPartition): void {
    if (!p.positioned || p.verifyAt !== undefined) return;
    const anchor = p.anchor;
    p.anchor = p.lastRecordAt;
    if (anchor === undefined || p.nextOffset === undefined || anchor.offset >= p.nextOffset) return;
    p.verifyAt = anchor;
    seekTo(this.opts.consumer, p);
  }

  /** After a batch applied: the first record of this log the periodic check will compare. */
  batchApplied(p: OwnedPartition): void {
    if (p.anchor === undefined) p.anchor = p.lastRecordAt;
  }

  /**
   * A fetch answer, before its records are applied: true when the partition was seeked (the batch is not applied),
   * because its record to check was fetched (checkRecord) or its log went back (fetchWentBack).
   */
  async checkFetch(p: OwnedPartition, batch: RecordBatch, ctx: BatchContext): Promise<boolean> {
    const check = p.verifyAt !== undefined && batch.records.length > 0 ? await this.checkRecord(p, batch.records, ctx) : undefined;
    if (check === 'moved') return true;
    return check === undefined && (await this.fetchWentBack(p, batch, ctx));
  }

  /**
   * A fetch from a record the state covers (p.verifyAt: the last one, after a restore; an anchor, at a periodic check):
   * the same record (timestamp and size) it was, or the log started again (a topic recreated, as long by now as the old
   * one was): then the state goes on from the new log's start. 'moved' when the partition was seeked (the batch is not
   * applied: a check from behind goes back to where it was); 'checked' when the record is the one the state covers (or
   * the log no longer has it: nothing to tell).
   */
  private async checkRecord(p: OwnedPartition, records: KafkaRecord[], ctx: BatchContext): Promise<'moved' | 'checked' | 'later'> {
    const { offset: at, mark } = p.verifyAt!;
    const first = BigInt(records[0]!.offset);
    // Fetched from further on (a group offset ahead of the state): checked once the fetch is back at `at`.
    if (first > at && !p.positioned) return 'later';
    p.verifyAt = undefined;
    const r = records[0]!;
    if (first !== at || (r.timestamp === mark.timestamp && recordBytes(r) === mark.bytes)) {
      if (first >= p.nextOffset! - 1n) return 'checked';
      // Checked from behind: back to where the state is (the records in between are covered).
      seekTo(this.opts.consumer, p);
      return 'moved';
    }
    let w: Watermarks | undefined;
    try {
      w = await this.watermarks(p);
    } catch (err) {
      this.opts.logger.warn({ err, partition: p.key }, 'reading watermarks failed; the fetch is retried');
      p.verifyAt = { offset: at, mark };
      seekTo(this.opts.consumer, p);
      return 'moved';
    }
    if (w === undefined || !this.opts.isCurrent(p) || !ctx.isRunning()) return 'moved';
    this.continueOn(p, w, 'last_record');
    seekTo(this.opts.consumer, p);
    return 'moved';
  }

  /**
   * A fetch answer whose high watermark is below what the state covers, or whose records start below it although the
   * fetch position was the state's (kafkajs moved it: the fetch was out of range, and it reset the position to the log's
   * start, `kafka.from_beginning`): asked again, the state goes on from the new log's start (seeked there: the batch is
   * not applied). False when nothing went back.
   */
  private async fetchWentBack(p: OwnedPartition, batch: RecordBatch, ctx: BatchContext): Promise<boolean> {
    if (p.nextOffset === undefined) return false;
    const first = batch.records.length > 0 ? BigInt(batch.records[0]!.offset) : undefined;
    const reset = p.positioned && first !== undefined && first < p.nextOffset;
    if (!reset && (batch.highWatermark === '-1' || BigInt(batch.highWatermark) >= p.nextOffset)) return false;
    let w: Watermarks | undefined;
    try {
      w = await this.startedAgain(p, reset ? first : undefined);
    } catch (err) {
      this.opts.logger.warn({ err, partition: p.key }, 'reading watermarks failed; the fetch is retried');
      this.opts.consumer.seek(p, p.nextOffset.toString());
      return true;
    }
    if (w === undefined) return false;
    if (!this.opts.isCurrent(p) || !ctx.isRunning()) return true;
    this.continueOn(p, w, 'fetch');
    seekTo(this.opts.consumer, p);
    return true;
  }
}
