// Records the source cannot use go to the dead-letter topic and the partition goes on: one that cannot be decoded
// (decode stage, `PROM_RELAY_DECODE_*`) and one whose apply throws (`PROM_RELAY_SOURCE_APPLY`). Before the second was
// caught, a throw in apply crashed the consumer, kafkajs restarted it on the same record, and one record stalled its
// partition for ever ("kafka consumer crashed" on every round, /readyz green).
import type { Logger } from 'pino';
import type { DeadLetterQueue } from '../dlq/index.js';
import type { BatchContext, KafkaRecord } from '../kafka/index.js';
import { RateLimitedLog } from '../log/index.js';
import type { IngestBatch } from '../model.js';
import type { PartialBatch } from '../repartition/index.js';
import type { OwnedPartition } from './partitions.js';

export const APPLY_FAILED = 'PROM_RELAY_SOURCE_APPLY';

/** What became of a record handed to `apply`. */
export type Applied = { ok: true; result: unknown } | { ok: false; error: unknown };

/**
 * Applies one decoded record; a throw is caught, not raised. Dead-lettering such a record keeps the totals exact:
 *  - a source partition (PartitionAggregate.apply) resolves every point first (phase 1) and feeds values only after
 *    (phase 2, which cannot fail), so a throw (a bug) comes before any value moves. Phase 1 may leave structure behind:
 *    the producer and its sequence number (the record then counts as seen: a producer's next cumulative push carries
 *    what this one would have added, as after a decode error), input and output series created but never fed (written
 *    nowhere, they expire), an untyped input retired for a typed point. A replay from a checkpoint meets the same
 *    records in the same order and throws at the same point, so it rebuilds the same state (and dead-letters the
 *    record again: the DLQ is at-least-once across a crash). The sets a replacing push notes its series in (`seen`,
 *    `families`) are emptied at the start of each replacing push, so a throw leaves nothing for the next one;
 *  - an owner partition (SeriesCombiner.apply, partials) applies series by series: the series before the throw keep
 *    their source's newer total, which applying again would not change; the rest come with the source's next publish
 *    of them (a full one at least every 30 minutes).
 * Without this, the consumer crashed, restarted on the same record and never got past it.
 */
export function applyRecord(p: OwnedPartition, decoded: IngestBatch | PartialBatch, at: number): Applied {
  try {
    return { ok: true, result: p.aggregate.apply(decoded, at) };
  } catch (error) {
    return { ok: false, error };
  }
}

export interface PoisonRecordsOptions {
  deadLetters: DeadLetterQueue;
  logger: Logger;
}

/** Sends poison records to the DLQ on behalf of the source, and says why (rate-limited). */
export class PoisonRecords {
  private readonly log: RateLimitedLog;

  constructor(private readonly opts: PoisonRecordsOptions) {
    this.log = new RateLimitedLog(opts.logger, { limit: 5, intervalMs: 10_000 });
  }

  /**
   * The record to the DLQ: true once the DLQ has it (or gave it up, counted), false when the wait was abandoned (shutdown,
   * the partition moved): the record is then not past, and its next owner dead-letters it again.
   * The offset moves past the poison record only once the DLQ has it: a crash before re-sends it. While it waits the
   * member keeps heartbeating (still the owner, the stall visible: DeadLetterQueue.stalled); shutdown or a move ends the wait.
   */
  async send(record: KafkaRecord, reason: { code: string; message: string }, ctx: BatchContext, goOn: () => boolean): Promise<boolean> {
    try {
      await this.opts.deadLetters.send(record, reason, { isRunning: () => ctx.isRunning() && goOn(), heartbeat: () => ctx.heartbeat() });
      return true;
    } catch (err) {
      const partition = `${record.topic}/${record.partition}`;
      this.opts.logger.warn({ err, partition, offset: record.offset }, 'dead letter abandoned (shutdown or partition moved): its next owner dead-letters it again');
      return false;
    }
  }

  /** A record whose apply threw: logged (error, rate-limited per partition) and dead-lettered; see applyRecord. */
  async applyFailed(record: KafkaRecord, error: unknown, ctx: BatchContext, goOn: () => boolean): Promise<boolean> {
    const partition = `${record.topic}/${record.partition}`;
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`apply/${partition}`, { code: APPLY_FAILED, partition, offset: record.offset, err: error }, 'record could not be applied (a bug): dead-lettered, the partition goes on');
    return this.send(record, { code: APPLY_FAILED, message: `apply: ${message}` }, ctx, goOn);
  }

  /** The source's own accounting of an applied record threw (metrics, logs): the record stays applied, the source goes on. */
  eventFailed(record: KafkaRecord, error: unknown): void {
    const partition = `${record.topic}/${record.partition}`;
    this.log.error(`applied/${partition}`, { code: APPLY_FAILED, partition, offset: record.offset, err: error, applied: true }, 'record applied, but counting it threw (a bug): the partition goes on');
  }
}
