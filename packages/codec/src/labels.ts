import { CodecError } from './errors.js';
import type { Labels } from './types.js';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Metric name rule of Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

/** Label name rule of Prometheus: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/** Byte-wise (UTF-16 code unit) order, the order Prometheus sorts label names in for ASCII names. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy of the label set with names in sorted order (what remote write requires on the wire). */
export function sortLabels(labels: Labels): Labels {
  const sorted: Labels = {};
  for (const name of Object.keys(labels).sort(compareNames)) setLabel(sorted, name, labels[name]!);
  return sorted;
}

/** A copy without labels whose value is empty (Prometheus treats an empty value as an absent label). */
export function dropEmptyLabelValues(labels: Labels): Labels {
  const kept: Labels = {};
  for (const name of Object.keys(labels)) {
    const value = labels[name]!;
    if (value !== '') setLabel(kept, name, value);
  }
  return kept;
}

/**
 * Checks a series label set against the remote write rules: `__name__` present and a valid metric name,
 * every name non-empty and valid, values strings and non-empty. Throws CodecError PROM_RELAY_CODEC_LABELS.
 */
export function validateLabels(labels: Labels): void {
  if (labels === null || typeof labels !== 'object') {
    throw new CodecError('PROM_RELAY_CODEC_LABELS', `labels must be an object, got ${labels === null ? 'null' : typeof labels}`);
  }
  const names = Object.keys(labels);
  if (!Object.prototype.hasOwnProperty.call(labels, '__name__')) {
    throw new CodecError('PROM_RELAY_CODEC_LABELS', `label set ${describe(labels)} has no __name__`);
  }
  const metricName = labels['__name__'];
  if (typeof metricName !== 'string' || !isValidMetricName(metricName)) {
    throw new CodecError('PROM_RELAY_CODEC_LABELS', `invalid metric name ${JSON.stringify(metricName)}`);
  }
  for (const name of names) {
    if (name === '') throw new CodecError('PROM_RELAY_CODEC_LABELS', `empty label name in ${describe(labels)}`);
    if (!isValidLabelName(name)) {
      throw new CodecError('PROM_RELAY_CODEC_LABELS', `invalid label name ${JSON.stringify(name)} in ${describe(labels)}`);
    }
    const value: unknown = labels[name];
    if (typeof value !== 'string') {
      throw new CodecError('PROM_RELAY_CODEC_LABELS', `label ${name} has a ${typeof value} value, expected a string`);
    }
    if (value === '') throw new CodecError('PROM_RELAY_CODEC_LABELS', `label ${name} has an empty value`);
  }
}

/** Assigns a label, also for the name `__proto__`, which a plain assignment would turn into a prototype change. */
export function setLabel(labels: Labels, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    labels[name] = value;
  }
}

function describe(labels: Labels): string {
  const text = JSON.stringify(labels);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
