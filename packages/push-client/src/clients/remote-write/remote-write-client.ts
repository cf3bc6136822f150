import { decompressedLength, encodeWriteRequestSnappy, encodeWriteRequestV2Snappy } from '@prom-relay/codec';
import type { MetricMetadata, TimeSeries, WriteRequest } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import { HttpTransport } from '../../transport/http-transport.js';
import { RetryingTransport } from '../../transport/retrying-transport.js';
import type { SendOptions, Transport, TransportRequest, TransportResult } from '../../transport/types.js';
import { RemoteWriteMetrics } from './metrics.js';
import { resolveRemoteWriteOptions } from './options.js';
import type { RemoteWriteOptions, ResolvedRemoteWriteOptions } from './options.js';
import { asTimeSeries, prepareWrite, sampleCount } from './prepare.js';
import { SendQueue } from './send-queue.js';
import type {
  DrainResult,
  FallbackReason,
  RejectedSeries,
  RemoteWriteStats,
  WriteCounts,
  WriteOptions,
  WriteResult,
  WriteSeries,
  WriteStream,
} from './types.js';

type Protocol = 'v1' | 'v2';

const PROTOCOL_HEADERS: Record<Protocol, Record<string, string>> = {
  v1: {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  },
  v2: {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    'X-Prometheus-Remote-Write-Version': '2.0.0',
  },
};

/** Per-write bookkeeping shared by the shards of one `write()` call. */
class WriteProgress {
  /** Metadata of the call by metric family, when given. */
  metadata?: { all: MetricMetadata[]; byFamily: Map<string, MetricMetadata> };
  readonly counts: WriteCounts = { samplesSent: 0, samplesFailed: 0, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0 };
  readonly rejected: RejectedSeries[] = [];
  readonly undelivered: TimeSeries[] = [];
  retryError?: PushClientError;
  retryInMs?: number;

  reject(series: readonly TimeSeries[], error: PushClientError): void {
    for (const s of series) {
      this.rejected.push({ series: s, error });
      this.counts.samplesFailed += sampleCount(s);
    }
  }

  postpone(series: readonly TimeSeries[], error: PushClientError, retryInMs?: number): void {
    for (const s of series) {
      this.undelivered.push(s);
      this.counts.samplesPending += sampleCount(s);
    }
    this.retryError ??= error;
    if (retryInMs !== undefined) this.retryInMs = Math.max(this.retryInMs ?? 0, retryInMs);
  }
}

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
  private readonly url: URL;
  private readonly transport: Transport;
  private readonly shards: SendQueue[];
  private readonly metrics?: RemoteWriteMetrics;
  private readonly baseHeaders: Record<string, string>;
  private protocol: Protocol;
  private readonly autoProtocol: boolean;
  /** False while `auto` has not seen which protocol the receiver speaks; requests then go one at a time. */
  private protocolSettled: boolean;
  /** The request that is finding out (auto, unsettled); the others wait for its answer. */
  private probe?: Promise<void>;
  private fallbacks = 0;
  private readonly totals: WriteCounts = { samplesSent: 0, samplesFailed: 0, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0 };
  private readonly queue: Array<{ series: WriteSeries; samples: number }> = [];
  private queueHead = 0;
  private queuedSamples = 0;
  private inFlightSamples = 0;
  private queueDropped = 0;
  private draining?: Promise<void>;
  private readonly drainWaiters = new Set<() => void>();
  private closed = false;
  private readonly closeController = new AbortController();

  constructor(options: RemoteWriteOptions, transport?: Transport) {
    this.options = resolveRemoteWriteOptions(options);
    this.url = new URL(this.options.url);
    this.autoProtocol = this.options.protocol === 'auto';
    this.protocol = this.options.protocol === 'v1' ? 'v1' : 'v2';
    this.protocolSettled = !this.autoProtocol;
    if (this.options.registry) this.metrics = new RemoteWriteMetrics(this.options.registry, this.options.name);
    const base =
      transport ??
      new HttpTransport({
        timeoutMs: this.options.timeoutMs,
        maxResponseBodyBytes: this.options.maxResponseBodyBytes,
        maxSockets: this.options.concurrency,
        retryOn429: this.options.retry.retryOn429,
      });
    // One backoff for the receiver across write() calls: a flush while the store keeps failing does not
    // restart at minBackoffMs; the first success resets it.
    this.transport = new RetryingTransport(this.metrics ? measured(base, this.metrics) : base, { ...this.options.retry, keepBackoffAcrossSends: true });
    this.shards = Array.from({ length: this.options.concurrency }, () => new SendQueue());
    this.baseHeaders = { ...this.options.headers };
    if (this.options.basicAuth) {
      const { username, password } = this.options.basicAuth;
      this.baseHeaders['Authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    } else if (this.options.bearerToken) {
      this.baseHeaders['Authorization'] = `Bearer ${this.options.bearerToken}`;
    }
  }

  /** Delivers the series and answers once every sample is accepted, refused, or given up on. */
  write(series: readonly WriteSeries[], options: WriteOptions = {}): Promise<WriteResult> {
    if (this.closed) {
      const error = new PushClientError('PROM_RELAY_PUSH_CLOSED', 'write() after close()');
      return Promise.resolve(this.closedResult(series, error));
    }
    return this.deliver(series, options);
  }

  /**
   * Queues series for background delivery and returns at once: true when queued, false when the
   * drop policy refused them (queue full with `drop-newest`, larger than the queue, or closed).
   */
  enqueue(series: WriteSeries | readonly WriteSeries[]): boolean {
    const list = (Array.isArray(series) ? series : [series]) as readonly WriteSeries[];
    let accepted = true;
    const limit = this.options.queue.maxSamples;
    for (const entry of list) {
      const samples = (entry?.samples?.length ?? 0) + (entry?.histograms?.length ?? 0);
      if (this.closed || samples > limit) {
        this.countQueueDrop(samples);
        accepted = false;
        continue;
      }
      if (this.queuedSamples + samples > limit) {
        if (this.options.queue.dropPolicy === 'drop-newest') {
          this.countQueueDrop(samples);
          accepted = false;
          continue;
        }
        while (this.queuedSamples + samples > limit) {
          const oldest = this.queue[this.queueHead]!;
          this.queue[this.queueHead++] = undefined as never;
          this.queuedSamples -= oldest.samples;
          this.countQueueDrop(oldest.samples);
        }
        this.compactQueue();
      }
      this.queue.push({ series: entry, samples });
      this.queuedSamples += samples;
    }
    this.metrics?.setQueued(this.queuedSamples);
    this.pump();
    return accepted;
  }

  /** Waits until the queue is empty and nothing is in flight, or until `timeoutMs` passed. */
  async flush(timeoutMs = 30_000): Promise<DrainResult> {
    if (this.isIdle()) return { drained: true, samplesRemaining: 0 };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiters.add(done);
    });
    return { drained: this.isIdle(), samplesRemaining: this.queuedSamples + this.inFlightSamples };
  }

  /**
   * Stops accepting, delivers what is queued for up to `timeoutMs`, then aborts what is still in flight
   * and releases sockets. What did not make it is counted in `samplesRemaining`.
   */
  async close(timeoutMs = 10_000): Promise<DrainResult> {
    this.closed = true;
    const result = await this.flush(timeoutMs);
    this.closeController.abort(new PushClientError('PROM_RELAY_PUSH_CLOSED', 'client closed'));
    if (this.draining) await this.draining;
    this.transport.close?.();
    return result;
  }

  /** Totals since construction. */
  stats(): RemoteWriteStats {
    return {
      ...this.totals,
      samplesQueueDropped: this.queueDropped,
      samplesQueued: this.queuedSamples,
      protocol: this.protocol,
      fallbacks: this.fallbacks,
    };
  }

  private isIdle(): boolean {
    return this.queuedSamples === 0 && this.inFlightSamples === 0 && !this.draining;
  }

  private countQueueDrop(samples: number): void {
    this.queueDropped += samples;
    this.metrics?.add(this.metrics.samplesDropped, samples);
  }

  /** Runs the background drain unless it is running. */
  private pump(): void {
    if (this.draining || this.queuedSamples === 0) return;
    const maxPerWrite = this.options.queue.maxSamplesPerWrite ?? this.options.maxSamplesPerRequest * this.options.concurrency;
    this.draining = (async () => {
      while (this.queuedSamples > 0 && !this.closeController.signal.aborted) {
        const batch: WriteSeries[] = [];
        let samples = 0;
        while (this.queueHead < this.queue.length && (batch.length === 0 || samples + this.queue[this.queueHead]!.samples <= maxPerWrite)) {
          const entry = this.queue[this.queueHead]!;
          this.queue[this.queueHead++] = undefined as never;
          batch.push(entry.series);
          samples += entry.samples;
        }
        this.compactQueue();
        this.queuedSamples -= samples;
        this.inFlightSamples = samples;
        this.metrics?.setQueued(this.queuedSamples);
        const result = await this.deliver(batch, {});
        this.inFlightSamples = 0;
        if (result.status !== 'success') this.reportAsync(result);
      }
    })().finally(() => {
      this.draining = undefined;
      if (this.queuedSamples > 0 && !this.closeController.signal.aborted) {
        this.pump();
        return;
      }
      for (const wake of this.drainWaiters) wake();
      this.drainWaiters.clear();
    });
  }

  private reportAsync(result: WriteResult): void {
    try {
      this.options.queue.onResult?.(result);
    } catch {
      // A throwing callback must not stop the drain.
    }
  }

  /** Drops the consumed head of the queue array once it is large, so memory follows the live entries. */
  private compactQueue(): void {
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    } else if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
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
    const progress = this.progressFor(options);
    const call = this.callSignal(options);
    const { maxSamplesPerRequest: max, concurrency } = this.options;
    const open: Array<{ series: TimeSeries[]; samples: number } | undefined> = new Array(concurrency);
    /** per shard: a request of this write was postponed, so its later ones are too (order holds) */
    const postponed: boolean[] = new Array(concurrency).fill(false);
    const tasks: Array<Promise<void>> = [];
    let underWay = 0;
    const waiting: Array<() => void> = [];
    let ended = false;
    const dispatch = (shard: number, batch: TimeSeries[]): void => {
      underWay++;
      const task = this.shards[shard]!.run(async () => {
        if (postponed[shard]) {
          progress.postpone(batch, progress.retryError!);
          return;
        }
        const outcome = await this.deliverBatch(batch, progress, call.send, { splits: this.options.maxSplitRequests });
        if (outcome === 'postponed') postponed[shard] = true;
      });
      tasks.push(
        task.finally(() => {
          underWay--;
          for (const wake of waiting.splice(0)) wake();
        }),
      );
    };
    // A shard's request goes once the next series does not fit (or at end()): the same cuts as batchByShard.
    const place = (shard: number, s: TimeSeries, n: number): void => {
      let batch = open[shard];
      if (batch !== undefined && batch.samples + n > max) {
        dispatch(shard, batch.series);
        batch = undefined;
      }
      if (batch === undefined) open[shard] = batch = { series: [], samples: 0 };
      batch.series.push(s);
      batch.samples += n;
    };
    return {
      add: async (input) => {
        if (ended) throw new PushClientError('PROM_RELAY_PUSH_CLOSED', 'add() after end()');
        if (this.closed) {
          const error = new PushClientError('PROM_RELAY_PUSH_CLOSED', 'write after close()');
          progress.reject(input.map(asTimeSeries), error);
          return;
        }
        const { series, hashes } = prepareInto(progress, input);
        placeByShard(series, hashes, concurrency, max, place);
        while (underWay >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
      },
      end: async () => {
        ended = true;
        try {
          for (let shard = 0; shard < concurrency; shard++) {
            const batch = open[shard];
            if (batch !== undefined) dispatch(shard, batch.series);
            open[shard] = undefined;
          }
          await Promise.all(tasks);
        } finally {
          call.release();
        }
        return this.finish(progress);
      },
    };
  }

  private progressFor(options: WriteOptions): WriteProgress {
    const progress = new WriteProgress();
    if (options.metadata?.length) {
      progress.metadata = { all: [...options.metadata], byFamily: new Map(options.metadata.map((m) => [m.metricFamilyName, m])) };
    }
    return progress;
  }

  /**
   * One controller per call, tied to close() and the caller's signal; `release()` removes its listeners at the end so
   * long-lived signals do not collect them.
   */
  private callSignal(options: WriteOptions): { send: SendOptions; release(): void } {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    const sources = options.signal ? [this.closeController.signal, options.signal] : [this.closeController.signal];
    for (const source of sources) {
      if (source.aborted) controller.abort();
      else source.addEventListener('abort', abort, { once: true });
    }
    return {
      send: { deadline: options.deadline ?? Infinity, signal: controller.signal },
      release: () => {
        for (const source of sources) source.removeEventListener('abort', abort);
      },
    };
  }

  private async deliver(input: readonly WriteSeries[], options: WriteOptions): Promise<WriteResult> {
    const progress = this.progressFor(options);
    const prepared = prepareInto(progress, input);

    const call = this.callSignal(options);
    try {
      const perShard = this.batchByShard(prepared.series, prepared.hashes);
      await Promise.all(
        perShard.map((batches, shard) =>
          batches.length === 0 ? undefined : this.shards[shard]!.run(() => this.deliverShard(batches, progress, call.send)),
        ),
      );
    } finally {
      call.release();
    }
    return this.finish(progress);
  }

  /** Sends one shard's batches in order; once one is postponed, the later ones are too, so order holds. */
  private async deliverShard(batches: TimeSeries[][], progress: WriteProgress, send: SendOptions): Promise<void> {
    for (let i = 0; i < batches.length; i++) {
      const budget = { splits: this.options.maxSplitRequests };
      const outcome = await this.deliverBatch(batches[i]!, progress, send, budget);
      if (outcome === 'postponed') {
        for (let j = i + 1; j < batches.length; j++) progress.postpone(batches[j]!, progress.retryError!);
        return;
      }
    }
  }

  /** Groups series into request-sized batches per shard; a series larger than a request is cut into chunks in time order. */
  private batchByShard(series: readonly TimeSeries[], hashes: readonly number[]): TimeSeries[][][] {
    const { maxSamplesPerRequest: max, concurrency } = this.options;
    const perShard: TimeSeries[][][] = Array.from({ length: concurrency }, () => []);
    const open: Array<{ series: TimeSeries[]; samples: number } | undefined> = new Array(concurrency);
    const place = (shard: number, s: TimeSeries, n: number): void => {
      let batch = open[shard];
      if (!batch || batch.samples + n > max) {
        batch = { series: [], samples: 0 };
        open[shard] = batch;
        perShard[shard]!.push(batch.series);
      }
      batch.series.push(s);
      batch.samples += n;
    };
    placeByShard(series, hashes, concurrency, max, place);
    return perShard;
  }

  private async deliverBatch(
    batch: TimeSeries[],
    progress: WriteProgress,
    send: SendOptions,
    budget: { splits: number },
  ): Promise<'delivered' | 'rejected' | 'postponed'> {
    const samples = countSamples(batch);
    for (;;) {
      // auto, before the receiver has shown which protocol it speaks: wait for the request that is finding out.
      while (!this.protocolSettled && this.probe) await this.probe;
      const protocol = this.protocol;
      let body: Uint8Array;
      try {
        // Encode and compress in one pass (no copy of the raw protobuf); its size is in the snappy preamble.
        body =
          protocol === 'v1'
            ? encodeWriteRequestSnappy(withMetadataV1(batch, progress.metadata?.byFamily))
            : encodeWriteRequestV2Snappy(progress.metadata ? { timeseries: batch, metadata: progress.metadata.all } : { timeseries: batch });
      } catch (err) {
        progress.reject(batch, new PushClientError('PROM_RELAY_PUSH_ENCODE', `encoding failed: ${(err as Error).message}`, { cause: err }));
        return 'rejected';
      }
      if (decompressedLength(body) > this.options.maxBytesPerRequest && canSplit(batch)) {
        return this.deliverHalves(batch, progress, send, budget);
      }
      const request: TransportRequest = {
        method: 'POST',
        url: this.url,
        headers: { ...this.baseHeaders, ...PROTOCOL_HEADERS[protocol] },
        body,
      };
      // No await between the wait above and here: exactly one request finds out.
      let endProbe: (() => void) | undefined;
      if (!this.protocolSettled) this.probe = new Promise<void>((resolve) => (endProbe = resolve));
      let result: TransportResult;
      try {
        result = await this.transport.send(request, send);
      } finally {
        if (endProbe) {
          this.probe = undefined;
          endProbe();
        }
      }
      progress.counts.requests += result.attempts;
      progress.counts.samplesRetried += (result.attempts - 1) * samples;
      if (protocol === 'v2') {
        const answer = v2Answer(result, samples + countExemplars(batch));
        if (this.autoProtocol && (answer === 'unsupported_media_type' || answer === 'not_written')) {
          // A 1.0-only receiver: it refused the v2 content type, or read the body as an empty 1.0 request (2xx,
          // no written-count headers). Nothing was written: the same batch goes again as v1.
          this.fallBack(answer, result.statusCode!, samples);
          continue;
        }
        if (answer === 'written' || answer === 'nothing_written') this.protocolSettled = true;
        if (answer === 'not_written' || answer === 'nothing_written') {
          progress.reject(batch, notWrittenError(result, samples));
          return 'rejected';
        }
      }
      if (result.status === 'success') {
        progress.counts.samplesSent += samples;
        return 'delivered';
      }
      if (result.status === 'retryable') {
        progress.postpone(batch, result.error, result.retryInMs);
        return 'postponed';
      }
      const code = result.statusCode;
      if ((code === 400 || code === 413) && this.options.splitRejectedBatches && canSplit(batch) && budget.splits >= 2) {
        budget.splits -= 2;
        return this.deliverHalves(batch, progress, send, budget);
      }
      progress.reject(batch, result.error);
      return 'rejected';
    }
  }

  /** Bisects a batch and sends the halves one after the other (older samples first for a single series). */
  private async deliverHalves(
    batch: TimeSeries[],
    progress: WriteProgress,
    send: SendOptions,
    budget: { splits: number },
  ): Promise<'delivered' | 'rejected' | 'postponed'> {
    const [left, right] = splitBatch(batch);
    const first = await this.deliverBatch(left, progress, send, budget);
    if (first === 'postponed') {
      progress.postpone(right, progress.retryError!);
      return 'postponed';
    }
    const second = await this.deliverBatch(right, progress, send, budget);
    if (second === 'postponed') return 'postponed';
    return first === 'delivered' && second === 'delivered' ? 'delivered' : 'rejected';
  }

  /** auto settles on v1 for the client's life; counted, reported once through onFallback. */
  private fallBack(reason: FallbackReason, statusCode: number, samplesResent: number): void {
    this.protocol = 'v1';
    this.protocolSettled = true;
    this.fallbacks++;
    this.metrics?.fallbacks.inc({ remote: this.options.name, reason });
    try {
      this.options.onFallback?.({ from: 'v2', to: 'v1', reason, statusCode, samplesResent });
    } catch {
      // A throwing callback must not lose the batch.
    }
  }

  private finish(progress: WriteProgress): WriteResult {
    const { counts, rejected } = progress;
    for (const key of Object.keys(this.totals) as Array<keyof WriteCounts>) this.totals[key] += counts[key];
    if (this.metrics) {
      this.metrics.add(this.metrics.samplesSent, counts.samplesSent);
      this.metrics.add(this.metrics.samplesFailed, counts.samplesFailed);
      this.metrics.add(this.metrics.samplesRetried, counts.samplesRetried);
      this.metrics.add(this.metrics.samplesDropped, counts.samplesDropped);
    }
    if (progress.undelivered.length > 0) {
      return {
        status: 'retryable',
        error: progress.retryError!,
        counts,
        rejected,
        undelivered: mergeChunks(progress.undelivered),
        ...(progress.retryInMs === undefined ? {} : { retryInMs: progress.retryInMs }),
      };
    }
    if (rejected.length > 0) {
      const error = new PushClientError(
        rejected[0]!.error.code,
        `${rejected.length} series refused; first: ${rejected[0]!.error.message}`,
        { cause: rejected[0]!.error },
      );
      return { status: 'failure', error, counts, rejected };
    }
    return { status: 'success', counts, rejected };
  }

  private closedResult(series: readonly WriteSeries[], error: PushClientError): WriteResult {
    const rejected = series.map((s) => ({ series: asTimeSeries(s), error }));
    const samplesFailed = rejected.reduce((n, r) => n + sampleCount(r.series), 0);
    return {
      status: 'failure',
      error,
      rejected,
      counts: { samplesSent: 0, samplesFailed, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0 },
    };
  }
}

const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

/** A v1 request carrying only the metadata of the families present in the batch (v1 metadata is per request). */
function withMetadataV1(batch: TimeSeries[], byFamily: Map<string, MetricMetadata> | undefined): WriteRequest {
  if (!byFamily) return { timeseries: batch };
  const found = new Set<MetricMetadata>();
  for (const s of batch) {
    const name = s.labels['__name__']!;
    let m = byFamily.get(name);
    for (let i = 0; !m && i < FAMILY_SUFFIXES.length; i++) {
      if (name.endsWith(FAMILY_SUFFIXES[i]!)) m = byFamily.get(name.slice(0, -FAMILY_SUFFIXES[i]!.length));
    }
    if (m) found.add(m);
  }
  return found.size > 0 ? { timeseries: batch, metadata: [...found] } : { timeseries: batch };
}

const WRITTEN_HEADERS = [
  'x-prometheus-remote-write-samples-written',
  'x-prometheus-remote-write-histograms-written',
  'x-prometheus-remote-write-exemplars-written',
] as const;

/**
 * What an answer to a v2 request says about the receiver (Remote Write 2.0, "Required Written Response Headers"):
 * - `unsupported_media_type`: 415, it does not take 2.0;
 * - `not_written`: 2xx without any written-count header: a 1.0 receiver that read the body as an empty request
 *   (Prometheus 2.42, VictoriaMetrics v1.151 answer 204 so), nothing written;
 * - `nothing_written`: 2xx whose headers count nothing while something was sent: a 2.0 receiver that wrote
 *   nothing (Prometheus's own sender calls this a failure);
 * - `written`: 2xx, a 2.0 receiver wrote; `other`: any other answer (5xx, 400...), nothing learnt.
 */
function v2Answer(result: TransportResult, itemsSent: number): 'unsupported_media_type' | 'not_written' | 'nothing_written' | 'written' | 'other' {
  if (result.status === 'failure') return result.statusCode === 415 ? 'unsupported_media_type' : 'other';
  if (result.status !== 'success') return 'other';
  const headers = result.headers ?? {};
  let present = false;
  let written = 0;
  for (const name of WRITTEN_HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    // The spec: an empty value means 0.
    if (value === undefined) continue;
    present = true;
    const n = Number(value.trim() || '0');
    if (Number.isFinite(n)) written += n;
  }
  if (!present) return 'not_written';
  return written === 0 && itemsSent > 0 ? 'nothing_written' : 'written';
}

function notWrittenError(result: TransportResult, samples: number): PushClientError {
  const answered = `HTTP ${result.statusCode}`;
  const headers = result.headers ?? {};
  const present = WRITTEN_HEADERS.filter((h) => headers[h] !== undefined);
  const message =
    present.length === 0
      ? `the receiver answered ${answered} to a Remote Write 2.0 request without X-Prometheus-Remote-Write-Samples-Written: ` +
        `it does not speak 2.0 (a 1.0 receiver reads the body as an empty request), so nothing was written (${samples} samples); use protocol v1 or auto`
      : `the receiver answered ${answered} to a Remote Write 2.0 request but its ${present.join(', ')} say nothing was written (${samples} samples sent)`;
  return new PushClientError('PROM_RELAY_PUSH_NOT_WRITTEN', message, {
    ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
    ...(result.body ? { responseBody: result.body } : {}),
  });
}

function countExemplars(batch: readonly TimeSeries[]): number {
  let n = 0;
  for (const s of batch) n += s.exemplars?.length ?? 0;
  return n;
}

function countSamples(batch: readonly TimeSeries[]): number {
  let n = 0;
  for (const s of batch) n += sampleCount(s);
  return n;
}

function canSplit(batch: readonly TimeSeries[]): boolean {
  return batch.length > 1 || (batch.length === 1 && sampleCount(batch[0]!) > 1);
}

/** Halves by series, or a lone series by its samples (older half first). */
function splitBatch(batch: TimeSeries[]): [TimeSeries[], TimeSeries[]] {
  if (batch.length > 1) {
    const mid = batch.length >> 1;
    return [batch.slice(0, mid), batch.slice(mid)];
  }
  const s = batch[0]!;
  const [a, b] = chunkSeries(s, Math.ceil(sampleCount(s) / 2));
  return [[a!], [b!]];
}

/** Cuts a series into chunks of at most `max` samples (float samples first, then histograms), in time order. */
function chunkSeries(s: TimeSeries, max: number): TimeSeries[] {
  const chunks: TimeSeries[] = [];
  const histograms = s.histograms ?? [];
  const total = s.samples.length + histograms.length;
  for (let start = 0; start < total; start += max) {
    const end = Math.min(total, start + max);
    const samples = s.samples.slice(Math.min(start, s.samples.length), Math.min(end, s.samples.length));
    const hStart = Math.max(0, start - s.samples.length);
    const hEnd = Math.max(0, end - s.samples.length);
    const chunk: TimeSeries = { labels: s.labels, samples };
    if (hEnd > hStart) chunk.histograms = histograms.slice(hStart, hEnd);
    if (start === 0 && s.exemplars) chunk.exemplars = s.exemplars;
    chunks.push(chunk);
  }
  return chunks;
}

/** Joins chunks of one series back together (they come in order) and strips client fields. */
function mergeChunks(series: readonly TimeSeries[]): TimeSeries[] {
  const out: TimeSeries[] = [];
  const byLabels = new Map<object, TimeSeries>();
  for (const s of series) {
    const earlier = byLabels.get(s.labels);
    if (earlier) {
      earlier.samples.push(...s.samples);
      if (s.histograms) (earlier.histograms ??= []).push(...s.histograms);
      continue;
    }
    const copy = plain(s);
    byLabels.set(s.labels, copy);
    out.push(copy);
  }
  return out;
}

function plain(s: TimeSeries): TimeSeries {
  const out: TimeSeries = { labels: s.labels, samples: [...s.samples] };
  if (s.histograms) out.histograms = [...s.histograms];
  if (s.exemplars) out.exemplars = [...s.exemplars];
  return out;
}

/** Wraps a transport to observe request durations and in-flight counts. */
function measured(inner: Transport, metrics: RemoteWriteMetrics): Transport {
  return {
    async send(request, options) {
      const started = performance.now();
      metrics.requestStarted();
      const result = await inner.send(request, options);
      metrics.requestEnded((performance.now() - started) / 1000, result.statusCode);
      return result;
    },
    close: () => inner.close?.(),
  };
}

/** A write's (or a part's) series prepared as `write()` prepares them, what it refuses or drops counted in `progress`. */
function prepareInto(progress: WriteProgress, input: readonly WriteSeries[]): ReturnType<typeof prepareWrite> {
  const prepared = prepareWrite(input);
  progress.rejected.push(...prepared.rejected);
  progress.counts.samplesFailed += prepared.samplesRejected;
  progress.counts.samplesDropped += prepared.samplesDropped;
  return prepared;
}

/** Each series with something to deliver goes to its shard; one larger than a request as chunks in time order. */
function placeByShard(
  series: readonly TimeSeries[],
  hashes: readonly number[],
  concurrency: number,
  max: number,
  place: (shard: number, s: TimeSeries, samples: number) => void,
): void {
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    const shard = hashes[i]! % concurrency;
    const n = sampleCount(s);
    if (n === 0 && !s.exemplars?.length) continue; // nothing to deliver
    if (n <= max) place(shard, s, n);
    else for (const chunk of chunkSeries(s, max)) place(shard, chunk, sampleCount(chunk));
  }
}
