// The Kafka source: restores each assigned partition from its checkpoint, decodes records and applies
// them into that partition's aggregate; records that cannot be decoded go to the DLQ and consumption goes on.
import type { Logger } from 'pino';
import type { CheckpointStore } from '../checkpoint/index.js';
import type { DeadLetterQueue, StalledPartition } from '../dlq/index.js';
import type { BatchContext, KafkaRecord, RecordBatch, RelayConsumer, TopicPartition } from '../kafka/index.js';
import { RateLimitedLog } from '../log/index.js';
import type { IngestBatch } from '../model.js';
import { FORWARDED_HEADER, type PartialBatch } from '../repartition/index.js';
import { BatchForwards, ForwardStalls, type Homes } from './forwards.js';
import { LogRestarts } from './log-restarts.js';
import { applyRecord, PoisonRecords } from './poison.js';
import { partitionKey, recordBytes, restoredPartition, seekTo, type OwnedPartition, type PartitionStateFactory } from './partitions.js';

/** decode stage: a record to a batch (a push, or partials on the partials topic), or a throw with a `code` (the DLQ reason) */
export type RecordDecoder = (record: KafkaRecord) => IngestBatch | PartialBatch;

/**
 * The time a record is applied at: its Kafka timestamp (never later than now). Expiry then depends on the records
 * alone, so a replay after a crash rebuilds the same state, expired series included, as the first pass did.
 */
export function applyTime(record: KafkaRecord, now: number): number {
  const ts = Number(record.timestamp);
  return Number.isFinite(ts) && ts > 0 && ts < now ? ts : now;
}

export interface SourceEvents {
  consumed?(tp: TopicPartition, records: number, bytes: number): void;
  deadLetter?(code: string): void;
  forwarded?(tp: TopicPartition, home: number): void;
  /** an attempt to forward pushes consumed on `tp` to their home partitions failed (retried: the partition waits) */
  forwardFailed?(tp: TopicPartition): void;
  applied?(partition: OwnedPartition, result: unknown): void;
  restored?(partition: OwnedPartition, from: 'checkpoint' | 'memory' | 'empty', checkpointBytes: number): void;
  /** an attempt to restore `tp` from its checkpoint failed (retried: the partition is not restored meanwhile) */
  restoreFailed?(tp: TopicPartition): void;
  /** the partition's log ends below the offset its state covers (topic recreated, truncated): see log-restarts.ts */
  offsetsWentBack?(partition: OwnedPartition, from: bigint, to: bigint): void;
}

export interface KafkaSourceOptions {
  consumer: RelayConsumer;
  /** high watermarks of a topic's partitions (the admin client's) */
  highWatermarks: (topic: string) => Promise<Map<number, string>>;
  /** log start and high watermark of a topic's partitions (the admin client's); without it a log started again lower goes unnoticed */
  watermarks?: (topic: string) => Promise<Map<number, { low: string; high: string }>>;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterQueue;
  decode: RecordDecoder;
  states: PartitionStateFactory;
  /** this relay process, as written in its checkpoints */
  owner: string;
  logger: Logger;
  events?: SourceEvents;
  now?: () => number;
  /** the consumer stopped for good (kafkajs will not restart it): the relay cannot go on */
  onFatal?: (err: Error) => void;
  /** how often a running partition's last record is fetched again to check its log (see checkLogs); default 10 s */
  logCheckEveryMs?: number;
  /** producer homes: where a push belongs (undefined: where it is). A push elsewhere is forwarded, not applied (forwards.ts). */
  homes?: Homes;
}

const HEARTBEAT_EVERY = 500;

function errorReason(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' ? code : 'PROM_RELAY_DECODE_UNKNOWN',
    message: err instanceof Error ? err.message : String(err),
  };
}

export class KafkaSource {
  /** partitions restored and owned; flush and checkpoint read them */
  readonly partitions = new Map<string, OwnedPartition>();
  private readonly assigned = new Map<string, TopicPartition>();
  private readonly restoring = new Map<string, Promise<OwnedPartition | undefined>>();
  private readonly now: () => number;
  private everAssigned = false;
  private stopping = false;
  private readonly logRestarts: LogRestarts | undefined;
  private logCheckTimer: NodeJS.Timeout | undefined;
  /** batches being applied right now */
  private readonly inBatch = new Set<string>();
  private readonly poison: PoisonRecords;
  private readonly forwardStalls: ForwardStalls;
  private readonly restoreLog: RateLimitedLog;

  constructor(private readonly opts: KafkaSourceOptions) {
    this.now = opts.now ?? Date.now;
    this.poison = new PoisonRecords({ deadLetters: opts.deadLetters, logger: opts.logger });
    this.forwardStalls = new ForwardStalls(opts.logger);
    this.restoreLog = new RateLimitedLog(opts.logger, { limit: 5, intervalMs: 60_000 });
    if (opts.watermarks !== undefined) {
      this.logRestarts = new LogRestarts({
        watermarks: opts.watermarks,
        logger: opts.logger,
        onRestart: (p, from, to) => opts.events?.offsetsWentBack?.(p, from, to),
        consumer: opts.consumer,
        isCurrent: (p) => this.partitions.get(p.key) === p && !this.stopping,
      });
    }
  }

  async start(): Promise<void> {
    await this.opts.consumer.start({
      onBatch: async (batch, ctx) => {
        this.inBatch.add(partitionKey(batch));
        try {
          return await this.onBatch(batch, ctx);
        } finally {
          this.inBatch.delete(partitionKey(batch));
        }
      },
      onAssigned: (assignment) => this.onAssigned(assignment),
      onRebalancing: () => this.onRebalancing(),
      onCrash: (err, restart) => {
        this.opts.logger.error({ err, restart }, 'kafka consumer crashed');
        if (!restart) this.opts.onFatal?.(err);
      },
    });
    if (this.logRestarts !== undefined && !this.stopping) {
      this.logCheckTimer = setInterval(() => this.checkLogs(), this.opts.logCheckEveryMs ?? 10_000);
      this.logCheckTimer.unref();
    }
  }

  /** Shutdown: no record is applied from now on; the partitions stay ours until the consumer leaves. */
  stopConsuming(): void {
    this.stopping = true;
    if (this.logCheckTimer !== undefined) clearInterval(this.logCheckTimer);
    this.opts.consumer.pause(this.assignment);
  }

  /** true once the group assigned partitions and every one of them is restored */
  get ready(): boolean {
    if (!this.everAssigned) return false;
    for (const key of this.assigned.keys()) {
      const p = this.partitions.get(key);
      if (!p || p.fenced || !p.caughtUp || this.restoring.has(key)) return false;
    }
    return true;
  }

  /** Partitions that cannot advance because forwarding their pushes fails (see forwards.ts); the DLQ has its own. */
  stalled(): StalledPartition[] {
    return this.forwardStalls.stalled();
  }

  get assignment(): TopicPartition[] {
    return [...this.assigned.values()];
  }

  /** Partitions owned and restored, not fenced by a rebalance: metrics read them. */
  owned(): OwnedPartition[] {
    return [...this.partitions.values()].filter((p) => this.isOwned(p));
  }

  /** The first answer `fn` gives for an owned partition, without building the list (it runs per new owner series). */
  findOwned<T>(fn: (p: OwnedPartition) => T | undefined): T | undefined {
    for (const p of this.partitions.values()) {
      if (!this.isOwned(p)) continue;
      const found = fn(p);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private isOwned(p: OwnedPartition): boolean {
    return !p.fenced && this.assigned.has(p.key) && !this.restoring.has(p.key);
  }

  /** Owned partitions whose replay has caught up: only they are flushed and checkpointed. */
  flushable(): OwnedPartition[] {
    return this.owned().filter((p) => p.caughtUp);
  }

  private onRebalancing(): void {
    // Until the new assignment is known, any partition may be moving: nothing is flushed from a stale owner.
    for (const p of this.partitions.values()) {
      p.fenced = true;
      p.positioned = false;
    }
  }

  private onAssigned(assignment: TopicPartition[]): void {
    this.everAssigned = true;
    const next = new Map(assignment.map((tp) => [partitionKey(tp), tp]));
    for (const key of [...this.partitions.keys()]) {
      if (!next.has(key)) this.partitions.delete(key);
    }
    this.assigned.clear();
    for (const [key, tp] of next) this.assigned.set(key, tp);
    this.opts.logger.info({ assignment: [...next.keys()] }, 'partitions assigned');
    for (const [key, tp] of next) {
      const task = this.restoreUntilDone(tp).finally(() => {
        if (this.restoring.get(key) === task) this.restoring.delete(key);
      });
      this.restoring.set(key, task);
    }
  }

  /** Retries a failed restore (broker away, reader behind) while the partition stays assigned: never starts it empty. */
  private async restoreUntilDone(tp: TopicPartition): Promise<OwnedPartition | undefined> {
    const key = partitionKey(tp);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.restore(tp);
      } catch (err) {
        this.opts.events?.restoreFailed?.(tp);
        this.restoreLog.error(key, { code: 'PROM_RELAY_SOURCE_RESTORE', err, partition: key, attempt }, 'restore from checkpoint failed; retrying');
      }
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
      if (!this.assigned.has(key) || this.stopping) return undefined;
    }
  }

  /** The state for a partition now assigned: ours if no other relay checkpointed it since, else its checkpoint. */
  private async restore(tp: TopicPartition): Promise<OwnedPartition | undefined> {
    const key = partitionKey(tp);
    // Read before the checkpoint: every record a previous owner can have flushed lies below this offset.
    const high = (await this.opts.highWatermarks(tp.topic)).get(tp.partition);
    const stored = await this.opts.checkpoints.latest(tp);
    // Moved away, or the relay is stopping: nothing is installed that the final flush would not see.
    if (!this.assigned.has(key) || this.stopping) return undefined;
    const existing = this.partitions.get(key);
    if (existing && (!stored || stored.owner === this.opts.owner)) {
      existing.fenced = false;
      existing.positioned = false;
      // Another relay may have sent without checkpointing meanwhile: the same catch-up rule applies.
      if (high !== undefined) existing.catchUpTo = BigInt(high);
      await this.logRestarts?.checkAtRestore(existing, high);
      this.seekTo(existing);
      this.opts.events?.restored?.(existing, 'memory', 0);
      return existing;
    }
    const owned = restoredPartition(tp, this.opts.states, stored, this.now);
    // A previous owner may have sent totals its last checkpoint does not cover: flush only once the replay passed them.
    if (high !== undefined) owned.catchUpTo = BigInt(high);
    await this.logRestarts?.checkAtRestore(owned, high);
    if (!this.assigned.has(key) || this.stopping) return undefined;
    this.partitions.set(key, owned);
    this.seekTo(owned);
    this.opts.logger.info(
      {
        partition: key,
        from: stored ? 'checkpoint' : 'empty',
        offset: owned.nextOffset?.toString(),
        catchUpTo: owned.catchUpTo?.toString(),
        series: owned.aggregate.seriesCount,
      },
      'partition restored',
    );
    this.opts.events?.restored?.(owned, stored ? 'checkpoint' : 'empty', stored?.bytes ?? 0);
    return owned;
  }

  /**
   * The timer's (every `logCheckEveryMs`): a round of the recreated-topic record check (LogRestarts.checkRound) for each
   * owned partition; one being applied to right now is left for the next round.
   */
  checkLogs(): void {
    if (this.logRestarts === undefined || this.stopping) return;
    for (const p of this.partitions.values()) {
      if (this.isOwned(p) && !this.inBatch.has(p.key)) this.logRestarts.checkRound(p);
    }
  }

  private seekTo(p: OwnedPartition): void {
    seekTo(this.opts.consumer, p);
  }

  private async onBatch(batch: RecordBatch, ctx: BatchContext): Promise<string | undefined> {
    const key = partitionKey(batch);
    let p: OwnedPartition | undefined;
    const pending = this.restoring.get(key);
    if (pending) p = await pending;
    else p = this.partitions.get(key);
    if (!p || !ctx.isRunning() || this.stopping) return undefined;
    // A recreated topic: the partition seeked onto the new log (or to a record to check), this batch not applied.
    if (this.logRestarts !== undefined && (await this.logRestarts.checkFetch(p, batch, ctx))) return undefined;
    if (batch.highWatermark !== '-1') p.highWatermark = BigInt(batch.highWatermark);
    const records = batch.records;
    if (records.length === 0) return undefined;
    if (p.nextOffset !== undefined && !p.positioned && BigInt(records[0]!.offset) > p.nextOffset) {
      // The fetch started past what the state covers (group offset ahead of the checkpoint): go back.
      this.opts.logger.warn({ partition: key, fetchAt: records[0]!.offset, stateAt: p.nextOffset.toString() }, 'seeking to checkpoint offset');
      this.seekTo(p);
      p.positioned = true;
      return undefined;
    }
    p.positioned = true;
    const goOn = () => this.partitions.has(key) && !this.stopping;
    let consumedThrough: string | undefined;
    let count = 0;
    let bytes = 0;
    // Pushes that belong elsewhere, forwarded together before anything after them is applied (see forwards.ts).
    const homes = this.opts.homes;
    const forwards = homes && new BatchForwards({
      homes,
      stalls: this.forwardStalls,
      key,
      ctx,
      goOn: () => this.partitions.has(key) && !this.stopping && ctx.isRunning(),
      forwarded: (tp, home) => this.opts.events?.forwarded?.(tp, home),
      failed: (tp) => this.opts.events?.forwardFailed?.(tp),
    });
    const forwardPending = async (): Promise<boolean> => {
      const last = await forwards?.send();
      if (last === false) return false;
      if (last !== undefined) {
        p.nextOffset = BigInt(last.offset) + 1n;
        p.lastConsumed = last;
        consumedThrough = last.offset;
      }
      return true;
    };
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const offset = BigInt(record.offset);
      // Records the state already covers (replayed after a rejoin) are skipped, never applied twice.
      if (p.nextOffset !== undefined && offset < p.nextOffset) {
        consumedThrough = record.offset;
        continue;
      }
      if (!ctx.isRunning() || this.stopping) break;
      const home = homes?.homeOf(record);
      if (forwards !== undefined && home !== undefined && home !== record.partition) {
        // Applied at home, not here, and decoded there (once).
        forwards.add(record, home);
        count++;
        bytes += recordBytes(record);
        if (forwards.full) {
          if (!(await forwardPending())) return consumedThrough;
          await ctx.heartbeat();
        }
        continue;
      }
      if (!(await forwardPending())) return consumedThrough;
      let decoded: IngestBatch | PartialBatch | undefined;
      try {
        decoded = this.opts.decode(record);
      } catch (err) {
        const reason = errorReason(err);
        if (!(await this.poison.send(record, reason, ctx, goOn))) return consumedThrough;
        this.opts.events?.deadLetter?.(reason.code);
        if (!this.partitions.has(key)) return consumedThrough;
      }
      if (decoded !== undefined && !('kind' in decoded)) {
        if (record.headers[FORWARDED_HEADER] !== undefined) decoded.forwarded = true;
        // Positions the state names (a delete's end) are offsets as published (see OwnedPartition.offsetBase).
        if (p.offsetBase !== 0n && decoded.position !== undefined) decoded.position = { ...decoded.position, offset: (offset + p.offsetBase).toString() };
      }
      if (decoded) {
        // A record whose apply throws is dead-lettered like one that cannot be decoded (why that is exact: poison.ts).
        const applied = applyRecord(p, decoded, applyTime(record, this.now()));
        if (!applied.ok) {
          if (!(await this.poison.applyFailed(record, applied.error, ctx, goOn))) return consumedThrough;
          if (!this.partitions.has(key)) return consumedThrough;
        } else {
          try {
            this.opts.events?.applied?.(p, applied.result);
          } catch (err) {
            this.poison.eventFailed(record, err);
          }
        }
      }
      p.nextOffset = offset + 1n;
      p.lastConsumed = record;
      consumedThrough = record.offset;
      count++;
      bytes += recordBytes(record);
      if (count % HEARTBEAT_EVERY === 0) {
        this.opts.events?.consumed?.(batch, count, bytes);
        count = 0;
        bytes = 0;
        await ctx.heartbeat();
      }
    }
    if (ctx.isRunning() && !this.stopping && !(await forwardPending())) return consumedThrough;
    if (count > 0) this.opts.events?.consumed?.(batch, count, bytes);
    this.logRestarts?.batchApplied(p);
    return consumedThrough;
  }
}
