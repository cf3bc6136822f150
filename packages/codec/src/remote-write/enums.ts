import type { HistogramResetHint, MetricType } from '../types.js';

/** MetricMetadata.MetricType numbers, shared by RW 1.0 and 2.0 (0 is UNKNOWN / UNSPECIFIED). */
export const METRIC_TYPE_NUMBERS: Record<MetricType, number> = {
  unknown: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
};

export const METRIC_TYPE_NAMES: readonly MetricType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

export const RESET_HINT_NUMBERS: Record<HistogramResetHint, number> = { unknown: 0, yes: 1, no: 2, gauge: 3 };
export const RESET_HINT_NAMES: readonly HistogramResetHint[] = ['unknown', 'yes', 'no', 'gauge'];
