import type { Labels } from '../types.js';

/** One sample line of the text format; `labels` never holds `__name__`. */
export interface ExpositionSample {
  name: string;
  labels: Labels;
  value: number;
  timestamp?: number;
}

export type ExpositionType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** A metric family: the HELP/TYPE header and every sample that belongs to it (histogram `_bucket`/`_sum`/`_count` included). */
export interface MetricFamily {
  name: string;
  type: ExpositionType;
  help?: string;
  samples: ExpositionSample[];
}

/** Bounds on one label set, checked while parsing (before anything past them is kept); absent means unbounded. */
export interface ExpositionLimits {
  /** Most labels one sample may have, its metric name counted (the relay's `aggregation.max_labels_per_series`). */
  maxLabelsPerSeries?: number;
  /** Longest label value, in UTF-16 code units after unescaping (the relay's `aggregation.max_label_value_length`). */
  maxLabelValueLength?: number;
}

export interface ParseExpositionOptions {
  limits?: ExpositionLimits;
}
