/** A plain label set, including `__name__`. */
export type Labels = Record<string, string>;

/** One float sample. `stale: true` is the Prometheus staleness marker (bits 0x7ff0000000000002); its value is NaN. */
export interface Sample {
  value: number;
  timestamp: number;
  stale?: boolean;
  /**
   * RW 2.0 `start_timestamp` (ms): when the counter (or other cumulative series) started counting. Absent or 0 =
   * not set (the spec's zero value; say 1 ms before or after to mean exactly 0). RW 1.0 has no such field: the
   * 1.0 encoders leave it out and the 1.0 decoders never set it.
   */
  startTimestamp?: number;
}

export interface Exemplar {
  labels: Labels;
  value: number;
  timestamp?: number;
}

export interface BucketSpan {
  offset: number;
  length: number;
}

export type HistogramResetHint = 'unknown' | 'yes' | 'no' | 'gauge';

/** A native histogram with the RW 1.0 field set; `isFloat` selects count_float/zero_count_float on the wire. */
export interface Histogram {
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
  negativeCounts: number[];
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  positiveCounts: number[];
  resetHint: HistogramResetHint;
  timestamp: number;
  isFloat?: boolean;
  /** RW 2.0 `start_timestamp` (ms) of a cumulative histogram; absent or 0 = not set. Not in RW 1.0 (left out). */
  startTimestamp?: number;
}

export interface TimeSeries {
  labels: Labels;
  samples: Sample[];
  exemplars?: Exemplar[];
  histograms?: Histogram[];
}

export type MetricType =
  | 'counter'
  | 'gauge'
  | 'summary'
  | 'histogram'
  | 'gaugehistogram'
  | 'info'
  | 'stateset'
  | 'unknown';

export interface MetricMetadata {
  type: MetricType;
  metricFamilyName: string;
  help?: string;
  unit?: string;
}

export interface WriteRequest {
  timeseries: TimeSeries[];
  metadata?: MetricMetadata[];
}

/** Options of `decompress`. */
export interface DecompressOptions {
  /** Largest decompressed size accepted, in bytes; default 32 MiB. */
  maxSize?: number;
}
