import type { ExpositionLimits } from '@prom-relay/codec';

/**
 * Bounds decode enforces while it reads a body, so one hostile message costs time linear in its size and no more
 * memory than the limits allow. Label limits are the aggregate's (`aggregation.max_labels_per_series`,
 * `aggregation.max_label_value_length`); breaking one is PROM_RELAY_DECODE_LIMIT with line and column.
 */
export interface DecodeLimits extends ExpositionLimits {
  /** Deepest nesting of arrays and objects in one JSON line; default DEFAULT_MAX_JSON_DEPTH. */
  maxJsonDepth?: number;
}

/** The documented JSON line format nests two deep (`labels`, `buckets`); 32 leaves room for fields decode ignores. */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/** A limit option: absent means none (Infinity); anything else must be a positive integer. */
export function limitOf(value: number | undefined, name: string): number {
  if (value === undefined) return Infinity;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`limits.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The limit messages, word for word the codec's parseExposition's (apps/relay/test/decode/text.test.ts checks). */
export function tooManyLabels(metric: string, max: number): string {
  return `series ${metric} has more than ${max} labels, its name counted (limit maxLabelsPerSeries)`;
}

export function valueTooLong(labelName: string, max: number): string {
  return `value of label ${labelName} is longer than ${max} characters (limit maxLabelValueLength)`;
}
