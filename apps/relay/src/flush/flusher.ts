// Flush: snapshot each owned partition, then checkpoint the snapshot while its output goes out at once: a source
// partition's partials to the owners of its series (the partials topic), an owner partition's series through Remote Write.
// A relay taking a partition over flushes it only after replaying up to the high watermark it saw at takeover
// (see OwnedPartition.caughtUp), so a send whose checkpoint was lost in a crash is never undercut by a lower total.
import type { MetricMetadata, TimeSeries } from '@prom-relay/codec';
import type { FlushTime } from '../checkpoint/index.js';
import type { Checkpoint, OutputSample } from '../model.js';
import type { SourceSnapshot } from '../repartition/index.js';
import type { OwnedPartition } from '../source/index.js';
import { SAMPLES_FAILED_REASONS, type FlushResult, type FlusherOptions, type RemoteWriteOutcome, type SamplesFailedReason, type SinkWriteOptions } from './types.js';
import { toSeries } from './wire-series.js';

export { SAMPLES_FAILED_REASONS };
export type { FlushResult, FlushStatus, FlusherOptions, RemoteWriteOutcome, RemoteWriteSink, SamplesFailedReason } from './types.js';

/** What a sent OutputSample's slot holds (one shared object, so the array keeps its element kind). */
const LET_GO: OutputSample = { labels: {}, value: 0 };

/** A partition whose snapshot threw, left out of the flush. */
interface SnapshotFailure {
  partition: string;
  err: unknown;
}

/** Series made and handed to the Remote Write stream at a time. */
const PART_SERIES = 1000;

/**
 * A partition nothing was applied to since its last checkpoint is not checkpointed again (its state changes only by
 * what is applied, and by expiry, which a restore re-derives from the times it keeps) — but at least this often.
 */
export const UNCHANGED_CHECKPOINT_EVERY_MS = 5 * 60_000;

interface Snapshot {
  partition: OwnedPartition;
  /** the timestamp of this flush for the partition */
  timestamp: number;
  /** absent: nothing applied since the last checkpoint (see UNCHANGED_CHECKPOINT_EVERY_MS) */
  checkpoint?: Checkpoint;
  /** owner partitions: what goes out through Remote Write (made into TimeSeries a part at a time, see send) */
  output: OutputSample[];
  /** source partitions: what goes to the owners */
  partials?: SourceSnapshot;
  /** owner partitions: type, help and unit of the families written */
  metadata?: MetricMetadata[];
}

/**
 * A written checkpoint's state is not needed any more, while the flush may go on sending for a while: an owner's state
 * is ~9 MB of columns per 100k series, which a scavenge during the send would otherwise move to the old generation.
 */
function dropStates(snapshots: Snapshot[]): void {
  for (const s of snapshots) if (s.checkpoint !== undefined) s.checkpoint.state = null;
}

export class Flusher {
  private running: Promise<FlushResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  lastResult: FlushResult | undefined;

  constructor(private readonly opts: FlusherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Flushes every `intervalMs`; a flush still running when the next is due delays it. */
  start(intervalMs: number): void {
    const tick = async () => {
      await this.flush().catch((err: unknown) => this.opts.logger.error({ err }, 'flush failed'));
      if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One flush; concurrent callers wait for the flush in progress, then run their own. `sendTimeoutMs` bounds its send. */
  /** `checkpointAll`: every partition whose state moved is checkpointed now (the final flush at shutdown). */
  async flush(opts: { sendTimeoutMs?: number; checkpointAll?: boolean } = {}): Promise<FlushResult> {
    while (this.running) await this.running.catch(() => undefined);
    const started = performance.now();
    this.running = this.flushOnce(opts.sendTimeoutMs ?? this.opts.sendTimeoutMs, opts.checkpointAll === true).catch((err: unknown) =>
      this.thrown(err, started),
    );
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async snapshot(checkpointAll: boolean, failed: SnapshotFailure[]): Promise<Snapshot[]> {
    const now = this.now();
    const out: Snapshot[] = [];
    const partitions = this.opts.partitions();
    // Synchronous per partition: collect, state and offset describe the same moment. Between partitions the event
    // loop runs (records, health checks, the group's heartbeats: a relay with 1M series would otherwise stop for the
    // whole snapshot, seconds); a partition that stopped being ours meanwhile is left out.
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i]!;
      if (i > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.opts.partitions().includes(p)) continue;
      }
      if (p.nextOffset === undefined) continue;
      // A partition whose snapshot throws (a bug) is left out of this flush, the others go on: what they collected is
      // not lost with it (a staleness marker goes out once). The flush then reports failure (see flushOnce).
      try {
        out.push(this.snapshotOf(p, now, checkpointAll));
      } catch (err) {
        failed.push({ partition: p.key, err });
      }
    }
    return out;
  }

  private snapshotOf(p: OwnedPartition, now: number, checkpointAll: boolean): Snapshot {
    const timestamp = Math.max(now, p.lastFlushTimestamp + 1);
    const samples = p.aggregate.collect(timestamp);
    const checkpoint: Checkpoint | undefined = !this.checkpointDue(p, now, checkpointAll)
      ? undefined
      : {
          version: 1,
          topic: p.topic,
          partition: p.partition,
          offset: p.nextOffset!.toString(),
          ...(p.offsetBase !== 0n ? { offsetBase: p.offsetBase.toString() } : {}),
          ...(p.lastRecord !== undefined ? { lastRecord: p.lastRecord } : {}),
          lastFlushTimestamp: timestamp,
          state: p.aggregate.toState(),
        };
    p.lastFlushTimestamp = timestamp;
    if (p.role === 'source') {
      const describe = this.opts.sendMetadata === false ? undefined : p.aggregate.metadataOf?.bind(p.aggregate);
      return { partition: p, timestamp, checkpoint, output: [], partials: { source: p.key, offset: p.publishedOffset!, samples, ...(describe ? { describe } : {}) } };
    }
    const metadata = this.opts.sendMetadata === false ? undefined : p.aggregate.metadata?.(timestamp);
    return { partition: p, timestamp, checkpoint, output: samples, ...(metadata ? { metadata } : {}) };
  }

  /**
   * A partition nothing was applied to since its checkpoint: every UNCHANGED_CHECKPOINT_EVERY_MS. An owner's last flush
   * timestamp, which a relay taking over with a clock behind must still pass, then goes out alone each flush that sent
   * series (CheckpointStore.writeFlushTimes, a few bytes instead of the whole state). An owner partials were applied to:
   * every flush (its checkpoint also keeps when each series' exemplar was last sent: none may go out again after a
   * restart). A source partition (nothing it writes carries a timestamp) at most every `sourceCheckpointIntervalMs`
   * while records are applied to it: a crash replays at most that much, exactly as before (replay is exact); every
   * flush pays less serialisation.
   */
  private checkpointDue(p: OwnedPartition, now: number, checkpointAll: boolean): boolean {
    if (p.checkpointWrittenAt === undefined || p.checkpointedOffset === undefined) return true;
    const age = now - p.checkpointWrittenAt;
    if (p.checkpointedOffset === p.nextOffset) return age >= UNCHANGED_CHECKPOINT_EVERY_MS;
    if (p.role !== 'source') return true;
    return checkpointAll || age >= (this.opts.sourceCheckpointIntervalMs ?? 0);
  }

  /**
   * The owners' series through Remote Write. With a sink that takes a write in parts, each part's TimeSeries are made
   * only once the requests before it are under way, and each OutputSample is let go once made into one: a flush holds
   * a few requests' worth of series objects, not all of them until the last request is answered.
   */
  private async write(owners: Snapshot[], opts: SinkWriteOptions): Promise<RemoteWriteOutcome> {
    const sink = this.opts.sink;
    if (sink.writeStream === undefined) return sink.write(owners.flatMap((s) => toSeries(s.output, s.timestamp)), opts);
    const stream = sink.writeStream(opts);
    for (const s of owners) {
      const output = s.output;
      for (let i = 0; i < output.length; i += PART_SERIES) {
        const to = Math.min(output.length, i + PART_SERIES);
        const part = toSeries(output, s.timestamp, i, to);
        output.fill(LET_GO, i, to);
        await stream.add(part);
      }
      s.output = [];
    }
    return stream.end();
  }

  private async send(owners: Snapshot[], series: number, metadata: MetricMetadata[], result: FlushResult, sendTimeoutMs: number): Promise<void> {
    try {
      const outcome = await this.write(owners, { deadline: Date.now() + sendTimeoutMs, ...(metadata.length > 0 ? { metadata } : {}) });
      result.samplesSent = outcome.counts.samplesSent;
      const refused = outcome.counts.samplesFailed;
      const exhausted = outcome.counts.samplesPending ?? 0;
      result.samplesFailed = refused + exhausted;
      if (result.samplesFailed > 0) result.samplesFailedBy = { refused, retries_exhausted: exhausted };
      result.samplesRetried = outcome.counts.samplesRetried;
      if (outcome.counts.exemplarsFailed) result.exemplarsFailed = outcome.counts.exemplarsFailed;
      result.status = outcome.status === 'success' ? 'success' : 'failure';
      if (outcome.status !== 'success') {
        result.error = outcome.error;
        this.opts.logger.warn(
          { status: outcome.status, err: outcome.error, failed: result.samplesFailed },
          'remote write incomplete; the next flush carries the totals',
        );
      }
    } catch (err) {
      result.status = 'failure';
      result.samplesFailed = series;
      result.samplesFailedBy = { error: series };
      result.error = err;
      this.opts.logger.warn({ err }, 'remote write failed; the next flush carries the totals');
    }
  }

  /**
   * A flush that threw (a bug) is a failure like any other: counted (onFlush), logged, and /readyz reads it from
   * lastResult; before, the last result stood, ready, while every flush threw.
   */
  private thrown(err: unknown, started: number): FlushResult {
    const result: FlushResult = { status: 'failure', timestamp: 0, partitions: 0, series: 0, samplesSent: 0, samplesFailed: 0, samplesRetried: 0, partialsPublished: 0, checkpointBytes: [], durationMs: performance.now() - started, error: err };
    this.opts.logger.error({ err, code: 'PROM_RELAY_FLUSH_FAILED' }, 'flush failed; the next flush tries again');
    this.lastResult = result;
    this.opts.onFlush?.(result);
    return result;
  }

  private async flushOnce(sendTimeoutMs: number, checkpointAll: boolean): Promise<FlushResult> {
    const started = performance.now();
    const failedSnapshots: SnapshotFailure[] = [];
    const snapshots = await this.snapshot(checkpointAll, failedSnapshots);
    const result: FlushResult = {
      status: 'empty',
      timestamp: Math.max(0, ...snapshots.map((s) => s.timestamp)),
      partitions: snapshots.length,
      series: snapshots.reduce((n, s) => n + s.output.length, 0),
      samplesSent: 0,
      samplesFailed: 0,
      samplesRetried: 0,
      partialsPublished: 0,
      checkpointBytes: [],
      durationMs: 0,
    };
    const finish = (): FlushResult => {
      if (failedSnapshots.length > 0) {
        const first = failedSnapshots[0]!;
        this.opts.logger.error(
          { err: first.err, partitions: failedSnapshots.map((f) => f.partition), code: 'PROM_RELAY_FLUSH_SNAPSHOT' },
          'snapshot of a partition failed: left out of this flush (nothing sent, published or checkpointed for it); the next flush tries again',
        );
        if (result.status === 'success' || result.status === 'empty') result.status = 'failure';
        result.error ??= first.err;
      }
      result.durationMs = performance.now() - started;
      this.lastResult = result;
      this.opts.onFlush?.(result);
      return result;
    };
    if (snapshots.length === 0) return finish();
    const owners = snapshots.filter((s) => s.output.length > 0);
    const series = result.series;
    // Owners that send series without a new checkpoint: their flush timestamp alone (taken before the send lets go of
    // their output).
    const times: FlushTime[] = owners
      .filter((s) => s.checkpoint === undefined && s.partition.role === 'owner')
      .map((s) => ({ topic: s.partition.topic, partition: s.partition.partition, offset: s.partition.nextOffset!.toString(), lastFlushTimestamp: s.timestamp }));
    const partials = snapshots.flatMap((s) => (s.partials ? [s.partials] : []));
    // The send goes first: its request is on the wire while the checkpoint is serialised and produced.
    const metadata = snapshots.flatMap((s) => s.metadata ?? []);
    const sending = series === 0 ? undefined : this.send(owners, series, metadata, result, sendTimeoutMs);
    const sources = snapshots.flatMap((s) => (s.partials ? [s.partition] : []));
    const publishing = partials.length === 0 ? undefined : this.publish(partials, sources, result);
    const changed = snapshots.filter((s) => s.checkpoint !== undefined);
    const checkpointing = Promise.all([
      changed.length === 0 ? [] : this.opts.checkpoints.write(changed.map((s) => s.checkpoint!)),
      times.length === 0 ? undefined : this.opts.checkpoints.writeFlushTimes(times),
    ]).then(([bytes]) => bytes);
    try {
      result.checkpointBytes = await checkpointing;
    } catch (err) {
      // The state stays in memory and the next flush checkpoints it again.
      dropStates(changed);
      await Promise.all([sending, publishing]);
      result.status = 'checkpoint_failed';
      result.error = err;
      this.opts.logger.error({ err }, 'checkpoint write failed');
      return finish();
    }
    dropStates(changed);
    const at = this.now();
    changed.forEach((s, i) => {
      s.partition.lastCheckpointAt = at;
      s.partition.lastCheckpointBytes = result.checkpointBytes[i];
      s.partition.checkpointedOffset = BigInt(s.checkpoint!.offset);
      s.partition.checkpointWrittenAt = at;
    });
    // An unchanged partition's checkpoint still covers its state: it is as fresh as this flush (one with records not
    // yet checkpointed shows its true age).
    for (const s of snapshots) if (s.checkpoint === undefined && s.partition.checkpointedOffset === s.partition.nextOffset) s.partition.lastCheckpointAt = at;
    // Group offsets only serve lag monitoring: a failed commit (mid-rebalance) changes no total.
    const committing =
      changed.length === 0
        ? undefined
        : this.opts.consumer
            .commit(changed.map((s) => ({ topic: s.checkpoint!.topic, partition: s.checkpoint!.partition, offset: s.checkpoint!.offset })))
            .catch((err: unknown) => this.opts.logger.warn({ err: (err as Error).message }, 'offset commit failed'));
    const published = await publishing;
    await Promise.all([sending, committing]);
    if (series === 0) result.status = 'success';
    if (published === false) result.status = 'publish_failed';
    return finish();
  }

  /** Source partitions' partials to their owners; a failure is carried by the next flush (it republishes every live series). */
  private async publish(partials: SourceSnapshot[], partitions: OwnedPartition[], result: FlushResult): Promise<boolean> {
    try {
      const r = await this.opts.publisher.publish(partials);
      result.partialsPublished = r.partials;
      return true;
    } catch (err) {
      result.error = err;
      // What this flush had to say is lost: the next one says everything again.
      for (const p of partitions) p.aggregate.publishAll?.();
      this.opts.logger.warn({ err }, 'publishing partials failed; the next flush publishes every live series again');
      return false;
    }
  }
}
