import { CodecError } from '../errors.js';
import type { Labels, TimeSeries } from '../types.js';

/** Label names in wire order: sorted, as remote write requires; already-sorted sets (the usual case) are not re-sorted. */
export function sortedNames(labels: Labels): string[] {
  if (labels === null || typeof labels !== 'object') {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `series labels must be an object, got ${labels === null ? 'null' : typeof labels}`);
  }
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1]! > names[i]!) return names.sort();
  }
  return names;
}

export function invalidLabelValue(name: string, value: unknown): CodecError {
  return new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `label ${JSON.stringify(name)} has a ${typeof value} value, expected a string`);
}

/** Rejects a series that is not an object with a samples array (JSON input, untyped callers). */
export function checkSeries(series: TimeSeries): void {
  if (series === null || typeof series !== 'object' || !Array.isArray(series.samples)) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'every series needs labels and a samples array');
  }
}

export function invalidValue(value: unknown): CodecError {
  return new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `sample value ${JSON.stringify(value)} is not a number`);
}

export function invalidTimestamp(timestamp: unknown): CodecError {
  return new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `timestamp ${String(timestamp)} is not an integer number of milliseconds`);
}

export function duplicateLabel(name: string, offset: number): CodecError {
  return new CodecError('PROM_RELAY_CODEC_LABELS', `duplicate label name ${JSON.stringify(name)} in one series at byte ${offset}`, { offset });
}
