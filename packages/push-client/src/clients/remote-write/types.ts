import type { Exemplar, Histogram, Labels, MetricMetadata, Sample, TimeSeries } from '@prom-relay/codec';
import type { PushClientError } from '../../errors.js';

/** A label pair as some producers hold them; lets a caller hand over a set that may repeat a name. */
export interface LabelPair {
  name: string;
  value: string;
}

/** What `write()` accepts: a codec TimeSeries, or one whose labels are a list of pairs. */
export interface WriteSeries {
  labels: Labels | readonly LabelPair[];
  samples?: readonly Sample[];
  exemplars?: readonly Exemplar[];
  histograms?: readonly Histogram[];
}

/** Sample counts of one write (a histogram sample counts as one). */
export interface WriteCounts {
  /** Accepted by the receiver (2xx), less what a Remote Write 2.0 receiver's written-count headers say it did not write. */
  samplesSent: number;
  /**
   * Refused for good: invalid series, rejected by the receiver with a non-retryable status, or left out of a partial
   * write (a Remote Write 2.0 2xx whose written-count headers count fewer than were sent).
   */
  samplesFailed: number;
  /** Sample sends repeated after a retryable answer (one sample retried twice counts 2). */
  samplesRetried: number;
  /** Dropped by the client: duplicate timestamps within a series (the last one is kept). */
  samplesDropped: number;
  /** Not delivered because retries ran out or the deadline came; `undelivered` holds them. */
  samplesPending: number;
  /** HTTP requests made, retries and split requests included. */
  requests: number;
  /** Exemplars a Remote Write 2.0 receiver answered 2xx to without writing them (its X-Prometheus-Remote-Write-Exemplars-Written). */
  exemplarsFailed: number;
}

/** A series that will not be delivered, with why (the receiver's message when it refused it). */
export interface RejectedSeries {
  series: TimeSeries;
  error: PushClientError;
}

interface WriteResultCommon {
  counts: WriteCounts;
  /** Series refused for good; empty on success. A partial write's series are not listed (the receiver does not say which). */
  rejected: RejectedSeries[];
  /**
   * Set when a Remote Write 2.0 receiver answered 2xx but wrote less than it was sent (PROM_RELAY_PUSH_PARTIAL_WRITE,
   * the first such answer): samples or histogram samples left out make the write a `failure` with this error;
   * exemplars alone left out leave it a `success` with this set (counts.exemplarsFailed).
   */
  partial?: PushClientError;
}

/**
 * The outcome of `write()`:
 * - `success`: every sample was accepted (some may have been dropped as duplicates; see counts).
 * - `failure`: some series were refused for good (listed in `rejected`); the rest were delivered.
 * - `retryable`: some series were not delivered because retries or the deadline ran out; they are in
 *   `undelivered`, in order, and may be written again (after `retryInMs` when the receiver said so).
 */
export type WriteResult =
  | (WriteResultCommon & { status: 'success' })
  | (WriteResultCommon & { status: 'failure'; error: PushClientError })
  | (WriteResultCommon & { status: 'retryable'; error: PushClientError; retryInMs?: number; undelivered: TimeSeries[] });

export interface WriteOptions {
  /** Epoch ms after which no request starts and no backoff sleeps; default none (the retry policy decides). */
  deadline?: number;
  /** Aborts requests in flight and backoff sleeps. */
  signal?: AbortSignal;
  /**
   * Metric metadata (type, help, unit) by family. v1 requests carry the entries of the families in each
   * request; v2 attaches them to each series of the family (`x_total`, `x_bucket`... belong to family `x`).
   */
  metadata?: readonly MetricMetadata[];
}

/** A write fed in parts (`RemoteWriteClient.writeStream`): requests go out as they fill. */
export interface WriteStream {
  /** Adds series; resolves once fewer than `concurrency` requests are under way (await it before making the next part). */
  add(series: readonly WriteSeries[]): Promise<void>;
  /** Sends what is left and answers the outcome of every part together, as `write()` does. */
  end(): Promise<WriteResult>;
}

/** What `flush()` and `close()` answer. */
export interface DrainResult {
  /** True when the queue is empty and nothing is in flight. */
  drained: boolean;
  /** Samples still queued or in flight when the deadline came. */
  samplesRemaining: number;
}

/** Running totals of a client since it was created. */
export interface RemoteWriteStats extends WriteCounts {
  /** Samples refused by `enqueue()` or evicted from the queue by the drop policy. */
  samplesQueueDropped: number;
  /** Samples waiting in the queue. */
  samplesQueued: number;
  /** The protocol in use now (`auto` settles on v1 or v2 after the first answer). */
  protocol: 'v1' | 'v2';
  /** Times `auto` fell back from v2 to v1 (0 or 1: the choice is kept for the client's life). */
  fallbacks: number;
}

/** Why `auto` left Remote Write 2.0 for 1.0. */
export type FallbackReason = 'unsupported_media_type' | 'not_written';

/** What `onFallback` is called with, once, when `auto` settles on v1. */
export interface ProtocolFallback {
  from: 'v2';
  to: 'v1';
  reason: FallbackReason;
  /** The answer to the v2 request: 415, or the 2xx without written-count headers. */
  statusCode: number;
  /** Samples (and histogram samples) of the batch that is re-sent as v1. */
  samplesResent: number;
}
