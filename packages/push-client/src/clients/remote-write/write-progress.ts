/**
 * One write's bookkeeping, shared by the shards that deliver it: its prepared input, what was delivered, refused
 * for good or postponed, the signal that aborts its requests, and the WriteResult it answers.
 */
import type { TimeSeries } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { SendOptions } from '../../transport/types.js';
import { mergeChunks } from './batches.js';
import { asTimeSeries, prepareWrite, sampleCount } from './prepare.js';
import type { PreparedWrite } from './prepare.js';
import type { WriteMetadata } from './request.js';
import type { RejectedSeries, WriteCounts, WriteOptions, WriteResult, WriteSeries } from './types.js';

/** Per-write bookkeeping shared by the shards of one `write()` call. */
export class WriteProgress {
  /** Metadata of the call by metric family, when given. */
  metadata?: WriteMetadata;
  readonly counts: WriteCounts = { samplesSent: 0, samplesFailed: 0, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0, exemplarsFailed: 0 };
  readonly rejected: RejectedSeries[] = [];
  readonly undelivered: TimeSeries[] = [];
  retryError?: PushClientError;
  retryInMs?: number;
  /** The first partial write's error (a v2 2xx that wrote less than it was sent). */
  partialError?: PushClientError;
  /** True when a partial write left out samples or histogram samples (not only exemplars). */
  private samplesLeftOut = false;

  static forWrite(options: WriteOptions): WriteProgress {
    const progress = new WriteProgress();
    if (options.metadata?.length) {
      progress.metadata = { all: [...options.metadata], byFamily: new Map(options.metadata.map((m) => [m.metricFamilyName, m])) };
    }
    return progress;
  }

  /** A write's (or a part's) series prepared as `write()` prepares them, what it refuses or drops counted here. */
  prepare(input: readonly WriteSeries[]): PreparedWrite {
    const prepared = prepareWrite(input);
    this.rejected.push(...prepared.rejected);
    this.counts.samplesFailed += prepared.samplesRejected;
    this.counts.samplesDropped += prepared.samplesDropped;
    return prepared;
  }

  reject(series: readonly TimeSeries[], error: PushClientError): void {
    for (const s of series) {
      this.rejected.push({ series: s, error });
      this.counts.samplesFailed += sampleCount(s);
    }
  }

  /** A 2xx that wrote less than it was sent (Remote Write 2.0 written-count headers): the rest counted as failed. */
  partial(missing: { samples: number; histograms: number; exemplars: number }, error: PushClientError): void {
    this.counts.samplesFailed += missing.samples + missing.histograms;
    this.counts.exemplarsFailed += missing.exemplars;
    if (missing.samples + missing.histograms > 0) this.samplesLeftOut = true;
    this.partialError ??= error;
  }

  postpone(series: readonly TimeSeries[], error: PushClientError, retryInMs?: number): void {
    for (const s of series) {
      this.undelivered.push(s);
      this.counts.samplesPending += sampleCount(s);
    }
    this.retryError ??= error;
    if (retryInMs !== undefined) this.retryInMs = Math.max(this.retryInMs ?? 0, retryInMs);
  }

  /** The write's outcome: retryable when anything was postponed, else failure when anything was refused, else success. */
  result(): WriteResult {
    const { counts, rejected } = this;
    const partial = this.partialError ? { partial: this.partialError } : {};
    if (this.undelivered.length > 0) {
      return {
        status: 'retryable',
        error: this.retryError!,
        counts,
        rejected,
        ...partial,
        undelivered: mergeChunks(this.undelivered),
        ...(this.retryInMs === undefined ? {} : { retryInMs: this.retryInMs }),
      };
    }
    if (rejected.length > 0) {
      const error = new PushClientError(
        rejected[0]!.error.code,
        `${rejected.length} series refused; first: ${rejected[0]!.error.message}`,
        { cause: rejected[0]!.error },
      );
      return { status: 'failure', error, counts, rejected, ...partial };
    }
    if (this.samplesLeftOut) return { status: 'failure', error: this.partialError!, counts, rejected, ...partial };
    return { status: 'success', counts, rejected, ...partial };
  }
}

/** The answer to a write made after close(): every series refused with `error`. */
export function closedResult(series: readonly WriteSeries[], error: PushClientError): WriteResult {
  const rejected = series.map((s) => ({ series: asTimeSeries(s), error }));
  const samplesFailed = rejected.reduce((n, r) => n + sampleCount(r.series), 0);
  return {
    status: 'failure',
    error,
    rejected,
    counts: { samplesSent: 0, samplesFailed, samplesRetried: 0, samplesDropped: 0, samplesPending: 0, requests: 0, exemplarsFailed: 0 },
  };
}

/**
 * One controller per call, tied to close() and the caller's signal; `release()` removes its listeners at the end so
 * long-lived signals do not collect them.
 */
export function callSignal(closeSignal: AbortSignal, options: WriteOptions): { send: SendOptions; release(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  const sources = options.signal ? [closeSignal, options.signal] : [closeSignal];
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
