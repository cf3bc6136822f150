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
