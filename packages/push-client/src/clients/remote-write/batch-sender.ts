/**
 * Sends request-sized batches to the receiver and sorts each into delivered, rejected (refused for good) or
 * postponed (retries or the deadline ran out). A batch too large for a request, or refused with 400/413, is
 * bisected so the good series still land. Under protocol `auto` it finds out which protocol the receiver speaks
 * (one request at a time until it knows) and falls back to v1 for the client's life.
 */
import type { TimeSeries } from '@prom-relay/codec';
import { decompressedLength } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { SendOptions, Transport, TransportRequest, TransportResult } from '../../transport/types.js';
import { canSplit, countExemplars, countSamples, splitBatch } from './batches.js';
import type { RemoteWriteMetrics } from './metrics.js';
import type { ResolvedRemoteWriteOptions } from './options.js';
import { PROTOCOL_HEADERS, callerHeaders, encodeBatch } from './request.js';
import type { Protocol } from './request.js';
import type { FallbackReason } from './types.js';
import { notWritten, notWrittenError, partialWriteError, v2Answer } from './v2-answer.js';
import type { WriteProgress } from './write-progress.js';

export type BatchOutcome = 'delivered' | 'rejected' | 'postponed';

export class BatchSender {
  private readonly url: URL;
  private readonly baseHeaders: Record<string, string>;
  private currentProtocol: Protocol;
  private readonly autoProtocol: boolean;
  /** False while `auto` has not seen which protocol the receiver speaks; requests then go one at a time. */
  private protocolSettled: boolean;
  /** The request that is finding out (auto, unsettled); the others wait for its answer. */
  private probe?: Promise<void>;
  private fallbackCount = 0;

  constructor(
    private readonly options: ResolvedRemoteWriteOptions,
    private readonly transport: Transport,
    private readonly metrics: RemoteWriteMetrics | undefined,
  ) {
    this.url = new URL(options.url);
    this.autoProtocol = options.protocol === 'auto';
    this.currentProtocol = options.protocol === 'v1' ? 'v1' : 'v2';
    this.protocolSettled = !this.autoProtocol;
    this.baseHeaders = callerHeaders(options);
  }

  /** The protocol in use now. */
  get protocol(): Protocol {
    return this.currentProtocol;
  }

  /** Times `auto` fell back from v2 to v1. */
  get fallbacks(): number {
    return this.fallbackCount;
  }

  /** Sends one shard's batches in order; once one is postponed, the later ones are too, so order holds. */
  async sendInOrder(batches: TimeSeries[][], progress: WriteProgress, send: SendOptions): Promise<void> {
    for (let i = 0; i < batches.length; i++) {
      const budget = { splits: this.options.maxSplitRequests };
      const outcome = await this.send(batches[i]!, progress, send, budget);
      if (outcome === 'postponed') {
        for (let j = i + 1; j < batches.length; j++) progress.postpone(batches[j]!, progress.retryError!);
        return;
      }
    }
  }

  /** Sends one batch (bisecting it within `budget` when needed); what it sent, refused or postponed is counted in `progress`. */
  async send(batch: TimeSeries[], progress: WriteProgress, send: SendOptions, budget: { splits: number }): Promise<BatchOutcome> {
    const samples = countSamples(batch);
    for (;;) {
      // auto, before the receiver has shown which protocol it speaks: wait for the request that is finding out.
      while (!this.protocolSettled && this.probe) await this.probe;
      const protocol = this.currentProtocol;
      let body: Uint8Array;
      try {
        body = encodeBatch(protocol, batch, progress.metadata);
      } catch (err) {
        progress.reject(batch, new PushClientError('PROM_RELAY_PUSH_ENCODE', `encoding failed: ${(err as Error).message}`, { cause: err }));
        return 'rejected';
      }
      if (decompressedLength(body) > this.options.maxBytesPerRequest && canSplit(batch)) {
        return this.sendHalves(batch, progress, send, budget);
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
        const written = protocol === 'v2' ? notWritten(batch, result) : undefined;
        if (written && written.missing.samples + written.missing.histograms + written.missing.exemplars > 0) {
          // A partial write (Remote Write 2.0): what the receiver did not write is not delivered, nor retried (it
          // refused it for good, as Prometheus's own sender reads it); the receiver does not say which series.
          const { missing, sent } = written;
          progress.partial(missing, partialWriteError(result, missing, sent));
          progress.counts.samplesSent += samples - missing.samples - missing.histograms;
          return 'delivered';
        }
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
        return this.sendHalves(batch, progress, send, budget);
      }
      progress.reject(batch, result.error);
      return 'rejected';
    }
  }

  /** Bisects a batch and sends the halves one after the other (older samples first for a single series). */
  private async sendHalves(batch: TimeSeries[], progress: WriteProgress, send: SendOptions, budget: { splits: number }): Promise<BatchOutcome> {
    const [left, right] = splitBatch(batch);
    const first = await this.send(left, progress, send, budget);
    if (first === 'postponed') {
      progress.postpone(right, progress.retryError!);
      return 'postponed';
    }
    const second = await this.send(right, progress, send, budget);
    if (second === 'postponed') return 'postponed';
    return first === 'delivered' && second === 'delivered' ? 'delivered' : 'rejected';
  }

  /** auto settles on v1 for the client's life; counted, reported once through onFallback. */
  private fallBack(reason: FallbackReason, statusCode: number, samplesResent: number): void {
    this.currentProtocol = 'v1';
    this.protocolSettled = true;
    this.fallbackCount++;
    this.metrics?.fallbacks.inc({ remote: this.options.name, reason });
    try {
      this.options.onFallback?.({ from: 'v2', to: 'v1', reason, statusCode, samplesResent });
    } catch {
      // A throwing callback must not lose the batch.
    }
  }
}
