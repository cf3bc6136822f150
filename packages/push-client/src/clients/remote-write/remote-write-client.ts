/**
 * The Remote Write client's public face: `write()`, `writeStream()`, `enqueue()`, `flush()`, `close()` and
 * `stats()`. It wires the parts together: options checked once, the transport under the retry policy
 * (client-transport.ts), series prepared (prepare.ts) and cut into batches per shard (batches.ts), one ordered
 * queue per shard, batches sent and their answers sorted (batch-sender.ts), the write's bookkeeping
 * (write-progress.ts), the background queue of `enqueue()` (background-queue.ts) and the streaming write
 * (write-stream.ts).
 */
import { PushClientError } from '../../errors.js';
import type { Transport } from '../../transport/types.js';
import { BackgroundQueue } from './background-queue.js';
import { BatchSender } from './batch-sender.js';
import { batchByShard } from './batches.js';
import { clientTransport } from './client-transport.js';
import { RemoteWriteMetrics } from './metrics.js';
import { resolveRemoteWriteOptions } from './options.js';
import type { RemoteWriteOptions, ResolvedRemoteWriteOptions } from './options.js';
import { SendQueue } from './send-queue.js';
import type { DrainResult, RemoteWriteStats, WriteCounts, WriteOptions, WriteResult, WriteSeries, WriteStream } from './types.js';
import { WriteProgress, callSignal, closedResult } from './write-progress.js';
import { openWriteStream } from './write-stream.js';

/**
 * A Remote Write client (spec 1.0, and 2.0 when asked): validates and orders series, batches them by
 * samples and bytes, shards by series hash over `concurrency` ordered queues, retries 5xx/429 with
 * backoff, splits batches a receiver rejects with 400 so good series still land, and reports counts.
 *
 * `write()` delivers and answers a WriteResult; `enqueue()` is the never-blocking variant with a
 * bounded queue, drained in the background and awaited by `flush()` / `close()`.
 */
export class RemoteWriteClient {
  private readonly options: ResolvedRemoteWriteOptions;
  private readonly transport: Transport;
  private readonly sender: BatchSender;
  private readonly shards: SendQueue[];
  private readonly metrics?: RemoteWriteMetrics;
  private readonly totals: WriteCounts = { samplesSent: 0, samplesFailed: 0, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0, exemplarsFailed: 0 };
  private readonly queue: BackgroundQueue;
  private closed = false;
  private readonly closeController = new AbortController();

  constructor(options: RemoteWriteOptions, transport?: Transport) {
    this.options = resolveRemoteWriteOptions(options);
    if (this.options.registry) this.metrics = new RemoteWriteMetrics(this.options.registry, this.options.name);
    this.transport = clientTransport(this.options, this.metrics, transport);
    this.sender = new BatchSender(this.options, this.transport, this.metrics);
    this.shards = Array.from({ length: this.options.concurrency }, () => new SendQueue());
    this.queue = new BackgroundQueue({
      queue: this.options.queue,
      maxSamplesPerWrite: this.options.queue.maxSamplesPerWrite ?? this.options.maxSamplesPerRequest * this.options.concurrency,
      metrics: this.metrics,
      deliver: (batch) => this.deliver(batch, {}),
      isClosed: () => this.closed,
      closeSignal: this.closeController.signal,
    });
  }

  /** Delivers the series and answers once every sample is accepted, refused, or given up on. */
  write(series: readonly WriteSeries[], options: WriteOptions = {}): Promise<WriteResult> {
    if (this.closed) {
      const error = new PushClientError('PROM_RELAY_PUSH_CLOSED', 'write() after close()');
      return Promise.resolve(closedResult(series, error));
    }
    return this.deliver(series, options);
  }

  /**
   * Queues series for background delivery and returns at once: true when queued, false when the
   * drop policy refused them (queue full with `drop-newest`, larger than the queue, or closed).
   */
  enqueue(series: WriteSeries | readonly WriteSeries[]): boolean {
    return this.queue.enqueue(series);
  }

  /** Waits until the queue is empty and nothing is in flight, or until `timeoutMs` passed. */
  flush(timeoutMs = 30_000): Promise<DrainResult> {
    return this.queue.flush(timeoutMs);
  }

  /**
   * Stops accepting, delivers what is queued for up to `timeoutMs`, then aborts what is still in flight
   * and releases sockets. What did not make it is counted in `samplesRemaining`.
   */
  async close(timeoutMs = 10_000): Promise<DrainResult> {
    this.closed = true;
    const result = await this.queue.flush(timeoutMs);
    this.closeController.abort(new PushClientError('PROM_RELAY_PUSH_CLOSED', 'client closed'));
    const draining = this.queue.draining;
    if (draining) await draining;
    this.transport.close?.();
    return result;
  }

  /** Totals since construction. */
  stats(): RemoteWriteStats {
    return {
      ...this.totals,
      samplesQueueDropped: this.queue.samplesDropped,
      samplesQueued: this.queue.samplesQueued,
      protocol: this.sender.protocol,
      fallbacks: this.sender.fallbacks,
    };
  }

  /**
   * A write whose series come in parts, for a caller that makes them as it goes (a flush of many series): `add()`
   * prepares each part as `write()` does and sends each request once it is full, and its promise waits while
   * `concurrency` requests are under way, so only a few requests' series are held at once instead of the whole
   * write's. `end()` sends what is left and answers as `write()` does for all the parts. Requests are the same as one
   * `write()` of the concatenated parts; one difference: the same series in two parts is not merged (both go out, in
   * the order added, on the series' one shard), so each part's samples of a series must be newer than the last's.
   */
  writeStream(options: WriteOptions = {}): WriteStream {
    return openWriteStream(
      {
        options: this.options,
        shards: this.shards,
        sender: this.sender,
        closeSignal: this.closeController.signal,
        isClosed: () => this.closed,
        finish: (progress) => this.finish(progress),
      },
      options,
    );
  }

  private async deliver(input: readonly WriteSeries[], options: WriteOptions): Promise<WriteResult> {
    const progress = WriteProgress.forWrite(options);
    const prepared = progress.prepare(input);

    const call = callSignal(this.closeController.signal, options);
    try {
      const perShard = batchByShard(prepared.series, prepared.hashes, this.options.concurrency, this.options.maxSamplesPerRequest);
      await Promise.all(
        perShard.map((batches, shard) =>
          batches.length === 0 ? undefined : this.shards[shard]!.run(() => this.sender.sendInOrder(batches, progress, call.send)),
        ),
      );
    } finally {
      call.release();
    }
    return this.finish(progress);
  }

  /** Adds a write's counts to the totals and the metrics, and answers its result. */
  private finish(progress: WriteProgress): WriteResult {
    const { counts } = progress;
    for (const key of Object.keys(this.totals) as Array<keyof WriteCounts>) this.totals[key] += counts[key];
    if (this.metrics) {
      this.metrics.add(this.metrics.samplesSent, counts.samplesSent);
      this.metrics.add(this.metrics.samplesFailed, counts.samplesFailed);
      this.metrics.add(this.metrics.samplesRetried, counts.samplesRetried);
      this.metrics.add(this.metrics.samplesDropped, counts.samplesDropped);
      this.metrics.add(this.metrics.exemplarsFailed, counts.exemplarsFailed);
    }
    return progress.result();
  }
}
