// A partition whose log started again at lower offsets (its topic deleted and created again, a truncation) while its
// state (checkpoint, or the relay's memory) covers offsets the log no longer holds. Left alone, the source would skip the
// new records below its offset as already applied, and publish what it applies at offsets below what it said before,
// which owners take for replays (outdated). Instead the state goes on, as through a restart (its counter baselines
// kept: a push of the new log adds what it adds), from the new log's start, and what it publishes is numbered after
// everything it published before (OwnedPartition.offsetBase): owners apply it, in order, without a word about it.
import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/rate-limited.js';
import type { OwnedPartition } from './partitions.js';

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
}
