// The partitions this relay owns right now, each with its aggregate and the offset that aggregate covers.
import type { MetricMetadata } from '@prom-relay/codec';
import type { StoredCheckpoint } from '../checkpoint/index.js';
import type { IngestBatch, OutputSample, RecordMark } from '../model.js';
import type { KafkaRecord, RelayConsumer, TopicPartition } from '../kafka/index.js';
import type { PartialBatch } from '../repartition/index.js';

/**
 * What a partition does with its state at each flush: a `source` partition (an input topic) publishes its partials
 * to the owners of its output series; an `owner` partition (the partials topic) combines them and writes them out.
 */
export type PartitionRole = 'source' | 'owner';

/** What the relay needs of a partition's state (PartitionAggregate for sources, SeriesCombiner for owners). */
export interface PartitionState {
  apply(batch: IngestBatch | PartialBatch, now: number): unknown;
  collect(now: number): OutputSample[];
  readonly seriesCount: number;
  toState(): unknown;
  /** source partitions: the next collect gives every live series (what the last one gave was not published) */
  publishAll?(): void;
  /** source partitions: family and type (help, unit) of an output series */
  metadataOf?(sample: OutputSample): MetricMetadata;
  /** owner partitions: metadata of the families written */
  metadata?(now: number): MetricMetadata[];
}

/** Makes empty states and restores them from checkpointed state, per partition. */
export interface PartitionStateFactory {
  role(tp: TopicPartition): PartitionRole;
  create(tp: TopicPartition): PartitionState;
  restore(state: unknown, tp: TopicPartition): PartitionState;
}

/** A record of a partition's log: its offset and what tells it from another at that offset. */
export interface RecordAt {
  offset: bigint;
  mark: RecordMark;
}

/** A record's key and value bytes (what the consumed-bytes counter counts, and part of what tells records apart). */
export function recordBytes(r: KafkaRecord): number {
  return (r.value?.length ?? 0) + (r.key?.length ?? 0);
}

export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

/**
 * Fetching resumes where the state ends, whatever the group offset says (it may be ahead with no record to come); from
 * the record the state covers last when it is to be checked (it is skipped as covered).
 */
export function seekTo(consumer: Pick<RelayConsumer, 'seek'>, p: OwnedPartition): void {
  if (p.nextOffset === undefined) return;
  consumer.seek(p, (p.verifyAt !== undefined ? p.verifyAt.offset : p.nextOffset).toString());
}

export class OwnedPartition {
  /** next offset to apply; undefined until the first record when no checkpoint existed */
  nextOffset: bigint | undefined;
  /**
   * Added to the partition's offsets wherever the state names a position to others (partials' offsets, end names, the
   * checkpoint's ordering): 0 until the partition's log starts again at lower offsets (its topic deleted and created
   * again, a truncation), then raised so that the new log's offsets continue above everything said before
   * (LogRestarts.continueOn). Owners then take the new log's partials as newer, as they are.
   */
  offsetBase = 0n;
  /** the record at `nextOffset - 1` when the source moved past it (kept as is: no allocation per record) */
  lastConsumed: KafkaRecord | undefined;
  private restoredMark: RecordMark | undefined;
  /** a record of this log the state covers, to be fetched again and compared (see LogRestarts.checkRecord) */
  verifyAt: RecordAt | undefined;
  /** the record the next periodic check compares (the last one the state covered at the check before) */
  anchor: RecordAt | undefined;
  /** the timestamp of the last flush (or the one about to be sent): the next must be larger */
  lastFlushTimestamp: number;
  /** false until the first batch after a (re)join checked the fetch position */
  positioned = false;
  /** true while a rebalance may be moving this partition away: no flush, no checkpoint */
  fenced = false;
  highWatermark: bigint | undefined;
  /** not flushed until the state covers this offset: the high watermark when another owner's state was taken on */
  catchUpTo: bigint | undefined;
  lastCheckpointAt: number | undefined;
  /** the offset the last checkpoint written or restored covers: a partition still there needs no new one */
  checkpointedOffset: bigint | undefined;
  /** when that checkpoint was written (or restored) */
  checkpointWrittenAt: number | undefined;
  lastCheckpointBytes: number | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly role: PartitionRole,
    readonly aggregate: PartitionState,
    init: { nextOffset?: bigint; lastFlushTimestamp?: number; offsetBase?: bigint; lastRecord?: RecordMark },
  ) {
    this.nextOffset = init.nextOffset;
    this.offsetBase = init.offsetBase ?? 0n;
    this.restoredMark = init.lastRecord;
    this.lastFlushTimestamp = init.lastFlushTimestamp ?? 0;
  }

  get key(): string {
    return partitionKey(this);
  }

  /** the record at `nextOffset - 1`, when known (see Checkpoint.lastRecord) */
  get lastRecord(): RecordMark | undefined {
    const r = this.lastConsumed;
    if (r === undefined) return this.restoredMark;
    return { timestamp: r.timestamp, bytes: recordBytes(r) };
  }

  /** the record at `nextOffset - 1` with its offset, when known */
  get lastRecordAt(): RecordAt | undefined {
    const mark = this.lastRecord;
    return mark === undefined || this.nextOffset === undefined || this.nextOffset === 0n ? undefined : { offset: this.nextOffset - 1n, mark };
  }

  /** forgets the records of the log it was on (the state moved onto another log) */
  forgetLastRecord(): void {
    this.lastConsumed = undefined;
    this.restoredMark = undefined;
    this.verifyAt = undefined;
    this.anchor = undefined;
  }

  /** `nextOffset` as published (see offsetBase) */
  get publishedOffset(): bigint | undefined {
    return this.nextOffset === undefined ? undefined : this.nextOffset + this.offsetBase;
  }

  /** true once the replay after a restore reached what any previous owner can have flushed */
  get caughtUp(): boolean {
    if (this.catchUpTo === undefined || this.catchUpTo === 0n) return true;
    return this.nextOffset !== undefined && this.nextOffset >= this.catchUpTo;
  }

  /** records not yet consumed, for the lag gauge */
  get lag(): number {
    if (this.highWatermark === undefined || this.nextOffset === undefined) return 0;
    const lag = this.highWatermark - this.nextOffset;
    return lag > 0n ? Number(lag) : 0;
  }
}

/** A partition's state as its checkpoint left it; empty when it has none. */
export function restoredPartition(tp: TopicPartition, states: PartitionStateFactory, stored: StoredCheckpoint | undefined, now: () => number): OwnedPartition {
  if (!stored) return new OwnedPartition(tp.topic, tp.partition, states.role(tp), states.create(tp), {});
  const cp = stored.checkpoint;
  const owned = new OwnedPartition(tp.topic, tp.partition, states.role(tp), states.restore(cp.state, tp), {
    nextOffset: BigInt(cp.offset),
    lastFlushTimestamp: cp.lastFlushTimestamp,
    offsetBase: BigInt(cp.offsetBase ?? '0'),
    ...(cp.lastRecord !== undefined ? { lastRecord: cp.lastRecord } : {}),
  });
  owned.lastCheckpointAt = now();
  owned.lastCheckpointBytes = stored.bytes;
  owned.checkpointedOffset = BigInt(cp.offset);
  owned.checkpointWrittenAt = owned.lastCheckpointAt;
  return owned;
}
