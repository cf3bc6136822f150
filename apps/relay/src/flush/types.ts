// The flush's public types: what it writes to (a Remote Write sink), what it reports (FlushResult) and what it is
// given (FlusherOptions). The flush itself is flusher.ts.
import type { Logger } from 'pino';
import type { MetricMetadata, TimeSeries } from '@prom-relay/codec';
import type { CheckpointStore } from '../checkpoint/index.js';
import type { RelayConsumer } from '../kafka/index.js';
import type { PartialsPublisher } from '../repartition/index.js';
import type { OwnedPartition } from '../source/index.js';

export type SinkWriteOptions = { deadline?: number; signal?: AbortSignal; metadata?: readonly MetricMetadata[] };

/** The part of the push client's RemoteWriteClient the flush uses. */
export interface RemoteWriteSink {
  write(series: TimeSeries[], opts?: SinkWriteOptions): Promise<RemoteWriteOutcome>;
  /**
   * The same write fed in parts (RemoteWriteClient.writeStream): the flush makes each part's series only when the
   * requests before it are under way, so they die young instead of all living until the last request is answered.
   */
  writeStream?(opts?: SinkWriteOptions): { add(series: TimeSeries[]): Promise<void>; end(): Promise<RemoteWriteOutcome> };
}

export interface RemoteWriteOutcome {
  status: 'success' | 'failure' | 'retryable';
  counts: { samplesSent: number; samplesFailed: number; samplesRetried: number; samplesPending?: number; exemplarsFailed?: number };
  error?: unknown;
}

export type FlushStatus = 'success' | 'failure' | 'publish_failed' | 'checkpoint_failed' | 'empty';

/**
 * Why samples were not delivered (prom_relay_samples_failed_total{reason}): `refused`, the receiver refused them for good
 * (a 4xx other than 429, or a 2.0 receiver's 2xx that wrote fewer than it was sent; sent again as they are, they would
 * be refused again); `retries_exhausted`, 5xx, 429 or network errors until the retries or the flush's deadline ran out;
 * `error`, the write threw. The next flush carries their totals in every case.
 */
export const SAMPLES_FAILED_REASONS = ['refused', 'retries_exhausted', 'error'] as const;
export type SamplesFailedReason = (typeof SAMPLES_FAILED_REASONS)[number];

export interface FlushResult {
  status: FlushStatus;
  /** the wall-clock stamp of this flush (the largest of the partitions') */
  timestamp: number;
  partitions: number;
  series: number;
  samplesSent: number;
  samplesFailed: number;
  /** samplesFailed by why (the reasons with samples) */
  samplesFailedBy?: Partial<Record<SamplesFailedReason, number>>;
  samplesRetried: number;
  /** exemplars a Remote Write 2.0 receiver answered 2xx to without writing them (its Exemplars-Written header) */
  exemplarsFailed?: number;
  /** partials published by source partitions to the owners of their series */
  partialsPublished: number;
  checkpointBytes: number[];
  durationMs: number;
  error?: unknown;
}

export interface FlusherOptions {
  sink: RemoteWriteSink;
  /** where source partitions' partials go (the repartition stage) */
  publisher: Pick<PartialsPublisher, 'publish'>;
  checkpoints: CheckpointStore;
  consumer: RelayConsumer;
  /** partitions that may be flushed now */
  partitions: () => OwnedPartition[];
  logger: Logger;
  now?: () => number;
  /** how long one flush may spend sending (retries included) */
  sendTimeoutMs: number;
  /** a source partition's checkpoint at most this often while records are applied (`flush.source_checkpoint_interval`; default every flush) */
  sourceCheckpointIntervalMs?: number;
  /** false: no type, help or unit with the flush (`remote_write.send_metadata`); default true */
  sendMetadata?: boolean;
  onFlush?: (result: FlushResult) => void;
}
