// Checkpoints on a compacted topic: written after each flush snapshot, read back on assignment.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CheckpointError } from '../errors.js';
import type { KafkaConnection, KafkaRecord, RelayAdmin, RelayConsumer, RelayProducer, TopicPartition } from '../kafka/index.js';
import { requestsWithin } from '../kafka/message-bytes.js';
import { RateLimitedLog } from '../log/index.js';
import type { Checkpoint } from '../model.js';
import { CHECKPOINT_HEADERS, checkpointKey, decodeCheckpoint, encodeCheckpoint } from './encoding.js';

/**
 * The last flush timestamp of a partition whose state did not change since its checkpoint (an owner partition no
 * partial reached): written instead of the whole state again, under its own key, and read back into the checkpoint.
 */
export interface FlushTime {
  topic: string;
  partition: number;
  /** the offset the partition's state covers (informational: the newest timestamp wins, see latest) */
  offset: string;
  lastFlushTimestamp: number;
}

/** The encoding header of a flush-time record (a checkpoint's is `gzip+json`): the timestamp in decimal. */
const FLUSH_TIME_ENCODING = 'flush-time';
const FLUSH_TIME_SUFFIX = '#flush-time';

/** The compacted topic's key of a partition's flush time, beside its checkpoint's (topic names hold no `#`). */
export function flushTimeKey(topic: string, partition: number): string {
  return checkpointKey(topic, partition) + FLUSH_TIME_SUFFIX;
}

export interface CheckpointStoreOptions {
  connection: KafkaConnection;
  producer: RelayProducer;
  admin: RelayAdmin;
  topic: string;
  /** consumer group of the relay: the reader's own group is derived from it */
  groupId: string;
  /** identifies this relay process in the checkpoints it writes */
  owner: string;
  /** topic-level max.message.bytes; a larger checkpoint is refused before sending */
  maxMessageBytes: number;
  createTopic: boolean;
  restoreTimeoutMs?: number;
  logger?: Logger;
  /** a record of the checkpoint topic the relay cannot read as one of its own (see CHECKPOINT_SKIP_REASONS): left out */
  onSkipped?: (reason: CheckpointSkipReason) => void;
}

/**
 * Why a record of the checkpoint topic was left out: no key (not a partition's), no numeric offset header (the offset
 * its state covers: not written by a relay), a flush-time record whose value is no timestamp. Never the relay's own
 * records; another writer's (an operator's hand, a tool) would otherwise be dropped without a word, and a partition
 * whose checkpoint it was meant to be restored from an older one, or started empty.
 */
export const CHECKPOINT_SKIP_REASONS = ['no_key', 'no_offset', 'bad_flush_time'] as const;
export type CheckpointSkipReason = (typeof CHECKPOINT_SKIP_REASONS)[number];

export interface StoredCheckpoint {
  checkpoint: Checkpoint;
  /** the relay process that wrote it */
  owner: string;
  bytes: number;
}

interface Entry {
  offset: bigint;
  owner: string;
  value: Buffer;
}

function headerString(v: unknown): string | undefined {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return headerString(v.at(-1));
  return undefined;
}

/** Room kept for the record's key, headers and batch framing inside max.message.bytes. */
const FRAMING_BYTES = 4096;

export class CheckpointStore {
  private readonly entries = new Map<string, Entry>();
  /** the newest flush-time record per checkpoint key */
  private readonly flushTimes = new Map<string, number>();
  /** next offset the reader will see, per checkpoint-topic partition */
  private readonly position = new Map<number, bigint>();
  private reader: RelayConsumer | undefined;
  private readerError: Error | undefined;
  private readonly skipLog: RateLimitedLog | undefined;

  constructor(private readonly opts: CheckpointStoreOptions) {
    this.skipLog = opts.logger ? new RateLimitedLog(opts.logger, { limit: 5, intervalMs: 60_000 }) : undefined;
  }

  private skipped(reason: CheckpointSkipReason, r: KafkaRecord, key: string | undefined): void {
    this.opts.onSkipped?.(reason);
    this.skipLog?.warn(
      reason,
      { reason, topic: r.topic, partition: r.partition, offset: r.offset, key, code: 'PROM_RELAY_CHECKPOINT_SKIPPED' },
      'a record of the checkpoint topic is no checkpoint this relay wrote (no key, no offset header, or a flush time that is no timestamp): left out of restores; prom_relay_checkpoint_records_skipped_total',
    );
  }

  /** Creates the compacted topic when needed and starts reading it from the beginning. */
  async start(): Promise<void> {
    const { admin, topic } = this.opts;
    if (this.opts.createTopic) {
      await admin.ensureTopic(topic, { partitions: 1, compacted: true, maxMessageBytes: this.opts.maxMessageBytes });
    }
    // Alone in its own group, so it sees every partition of the checkpoint topic and never commits.
    this.reader = this.opts.connection.consumer({
      groupId: `${this.opts.groupId}.checkpoint-reader.${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      maxBytesPerPartition: this.opts.maxMessageBytes + FRAMING_BYTES,
      maxBytes: this.opts.maxMessageBytes + FRAMING_BYTES,
      sessionTimeout: 30_000,
    });
    await this.reader.start({
      onBatch: async (batch) => {
        for (const r of batch.records) {
          const key = r.key?.toString('utf8');
          const offset = headerString(r.headers[CHECKPOINT_HEADERS.offset]);
          if (key?.endsWith(FLUSH_TIME_SUFFIX)) {
            // The largest wins whoever wrote it: a timestamp already sent must be passed, never undercut.
            const of = key.slice(0, -FLUSH_TIME_SUFFIX.length);
            const at = r.value === null ? undefined : Number(r.value.toString('utf8'));
            if (at === undefined) this.flushTimes.delete(of);
            else if (!Number.isSafeInteger(at)) this.skipped('bad_flush_time', r, key);
            else if (at > (this.flushTimes.get(of) ?? 0)) this.flushTimes.set(of, at);
            this.position.set(batch.partition, BigInt(r.offset) + 1n);
            continue;
          }
          // A tombstone (operator's `kcat -Z`) drops a partition's checkpoint: it then starts from the group offset.
          if (!key) this.skipped('no_key', r, undefined);
          else if (r.value === null) this.entries.delete(key);
          else if (!offset || !/^\d+$/.test(offset)) this.skipped('no_offset', r, key);
          else {
            const prev = this.entries.get(key);
            const entry = { offset: BigInt(offset), owner: headerString(r.headers[CHECKPOINT_HEADERS.owner]) ?? '', value: r.value };
            // Highest source offset wins: a late write from a relay that lost the partition cannot roll it back.
            if (!prev || entry.offset >= prev.offset) this.entries.set(key, entry);
          }
          this.position.set(batch.partition, BigInt(r.offset) + 1n);
        }
        return batch.records.at(-1)?.offset;
      },
      onCrash: (err, restart) => {
        if (!restart) this.readerError = err;
      },
    });
  }

  /**
   * The newest checkpoint of a source partition, once the reader has read everything written so far; its last flush
   * timestamp is the newest of the checkpoint's and of the flush-time records written since (see writeFlushTimes).
   */
  async latest(tp: TopicPartition): Promise<StoredCheckpoint | undefined> {
    await this.catchUp();
    const key = checkpointKey(tp.topic, tp.partition);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const checkpoint = await decodeCheckpoint(entry.value);
    const flushed = this.flushTimes.get(key);
    if (flushed !== undefined && flushed > checkpoint.lastFlushTimestamp) checkpoint.lastFlushTimestamp = flushed;
    return { checkpoint, owner: entry.owner, bytes: entry.value.length };
  }

  private async catchUp(): Promise<void> {
    const deadline = Date.now() + (this.opts.restoreTimeoutMs ?? 60_000);
    const high = await this.opts.admin.highWatermarks(this.opts.topic);
    for (;;) {
      if (this.readerError) {
        throw new CheckpointError('PROM_RELAY_CHECKPOINT_RESTORE_TIMEOUT', `checkpoint reader stopped: ${this.readerError.message}`, {
          cause: this.readerError,
        });
      }
      let behind = false;
      for (const [partition, hw] of high) if ((this.position.get(partition) ?? 0n) < BigInt(hw)) behind = true;
      if (!behind) return;
      if (Date.now() > deadline) {
        throw new CheckpointError(
          'PROM_RELAY_CHECKPOINT_RESTORE_TIMEOUT',
          `checkpoint topic ${this.opts.topic} not read to its end within ${this.opts.restoreTimeoutMs ?? 60_000} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Writes checkpoints, acks -1, in as few produce requests as the topic takes; answers the encoded size of each. */
  async write(checkpoints: Checkpoint[]): Promise<number[]> {
    if (checkpoints.length === 0) return [];
    const values: Buffer[] = [];
    for (const cp of checkpoints) {
      // Serialising a large state holds the event loop for a while: a turn first lets the flush's requests go out and be answered.
      await new Promise((r) => setImmediate(r));
      values.push(await encodeCheckpoint(cp));
    }
    const limit = this.opts.maxMessageBytes - FRAMING_BYTES;
    values.forEach((v, i) => {
      if (v.length > limit) {
        const cp = checkpoints[i]!;
        throw new CheckpointError(
          'PROM_RELAY_CHECKPOINT_TOO_LARGE',
          `checkpoint of ${cp.topic}/${cp.partition} is ${v.length} bytes, over kafka.checkpoint_max_message_bytes (${this.opts.maxMessageBytes})`,
        );
      }
    });
    // Within the topic's limit per request: checkpoints that each fit may not fit one record batch together.
    const messages = checkpoints.map((cp, i) => ({
      key: checkpointKey(cp.topic, cp.partition),
      value: values[i]!,
      headers: {
        // The offset the state covers as published (see Checkpoint.offsetBase): the newest log's wins.
        [CHECKPOINT_HEADERS.offset]: cp.offsetBase === undefined ? cp.offset : String(BigInt(cp.offsetBase) + BigInt(cp.offset)),
        [CHECKPOINT_HEADERS.owner]: this.opts.owner,
        [CHECKPOINT_HEADERS.encoding]: 'gzip+json',
      },
    }));
    for (const request of requestsWithin(messages, this.opts.maxMessageBytes)) await this.opts.producer.send(this.opts.topic, request);
    return values.map((v) => v.length);
  }

  /**
   * The last flush timestamp of partitions whose checkpointed state still holds (nothing applied since), in one acks -1
   * produce: a few bytes each where a checkpoint serialises the whole state.
   */
  async writeFlushTimes(times: FlushTime[]): Promise<void> {
    if (times.length === 0) return;
    await this.opts.producer.send(
      this.opts.topic,
      times.map((t) => ({
        key: flushTimeKey(t.topic, t.partition),
        value: Buffer.from(String(t.lastFlushTimestamp)),
        headers: {
          [CHECKPOINT_HEADERS.offset]: t.offset,
          [CHECKPOINT_HEADERS.owner]: this.opts.owner,
          [CHECKPOINT_HEADERS.encoding]: FLUSH_TIME_ENCODING,
        },
      })),
    );
  }

  async stop(): Promise<void> {
    await this.reader?.stop();
  }
}
