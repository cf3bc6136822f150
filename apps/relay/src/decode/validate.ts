// The checks a decoded message must pass before the aggregate sees it. decodeRecord runs them for every Kafka record,
// and the HTTP ingest runs decodeRecord on every message before producing it: one validator for both paths.
import type { Labels } from '@prom-relay/codec';
import type { IngestBatch, InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import type { BodyFormat } from './headers.js';

/**
 * Largest counter-like input taken. Prometheus allows any float, but no real counter comes near it, and a running
 * total over up to 10^8 such inputs stays finite (a `+Inf` total would stay `+Inf` forever).
 */
export const MAX_COUNTER_INPUT = 1e300;

/** C0 controls, DEL and C1 controls: never part of a job name or a grouping value (Kafka headers, keys, log lines). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The first control character of `value`, described (`U+0000`), or undefined when there is none. */
export function controlCharacter(value: string): string | undefined {
  const m = CONTROL.exec(value);
  return m === null ? undefined : `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * True for points whose output is a running total (the aggregate's default: counters, every histogram part, a
 * summary's `_sum` and `_count`): their values must be finite and not negative.
 */
export function isCounterLike(p: InputPoint): boolean {
  if (p.type === 'counter' || p.type === 'histogram') return true;
  if (p.type !== 'summary') return false;
  const name = seriesName(p);
  return name === `${p.family}_sum` || name === `${p.family}_count`;
}

/** The metric name of a point without building its labels when the key (`name{...}` as written) carries it. */
function seriesName(p: InputPoint): string {
  const key = p.key;
  if (key !== undefined) {
    let end = 0;
    while (end < key.length) {
      const c = key.charCodeAt(end);
      if (c === 123 || c === 32 || c === 9) break;
      end++;
    }
    if (end > 0) return key.slice(0, end);
  }
  return p.labels['__name__'] ?? p.family;
}

/** Why a counter-like value cannot be taken, or undefined when it can. */
export function counterValueProblem(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity || v === -Infinity) return 'not finite';
  if (v < 0) return 'negative';
  if (v > MAX_COUNTER_INPUT) return `above ${MAX_COUNTER_INPUT}`;
  return undefined;
}

/** `name{a="x",b="y"}` for error messages (labels sorted, long values cut). */
export function describeSeries(labels: Labels): string {
  const name = labels['__name__'] ?? '';
  const parts: string[] = [];
  for (const k of Object.keys(labels).sort()) {
    if (k === '__name__') continue;
    const v = labels[k]!;
    parts.push(`${k}=${JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v)}`);
  }
  return `${name}{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** Throws DecodeError VALUE for the first counter-like point whose value a running total cannot take. */
export function checkCounterValues(points: readonly InputPoint[]): void {
  for (const p of points) {
    const v = p.value;
    // Fast path: an ordinary non-negative finite value needs no type check.
    if (v >= 0 && v <= MAX_COUNTER_INPUT) continue;
    if (!isCounterLike(p)) continue;
    const problem = counterValueProblem(v)!;
    throw new DecodeError(
      'PROM_RELAY_DECODE_VALUE',
      `${p.type} series ${describeSeries(p.labels)} has value ${formatValue(v)} (${problem}): a ${p.type} value must be a finite number from 0 to ${MAX_COUNTER_INPUT}`,
    );
  }
}

/** A label set as one string, independent of label order. */
function canonicalKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const n of names) key += `${n}\u0000${labels[n]}\u0000`;
  return key;
}

/**
 * Throws DecodeError DUPLICATE when two points of one text body are the same series (after the header's job and
 * grouping labels override the body's), as Pushgateway refuses such a push. Compared by label set, so `x{a="1",b="2"}`
 * and `x{b="2",a="1"}` are one series.
 */
export function checkDuplicateSeries(points: readonly InputPoint[]): void {
  const seen = new Set<string>();
  for (const p of points) {
    const key = canonicalKey(p.labels);
    if (seen.has(key)) {
      throw new DecodeError(
        'PROM_RELAY_DECODE_DUPLICATE',
        `series ${describeSeries(p.labels)} appears more than once in the body (after the job and grouping labels override the body's)`,
      );
    }
    seen.add(key);
  }
}

/**
 * Every check of a decoded batch: counter-like values finite, not negative and within MAX_COUNTER_INPUT (all formats);
 * no series twice in a text body (a registry snapshot). JSON lines and Remote Write are sequences of samples, where
 * one series may come several times in order (Prometheus sends one series in several entries of a request).
 */
export function validateBatch(batch: IngestBatch, format: BodyFormat): void {
  checkCounterValues(batch.points);
  if (format === 'text') checkDuplicateSeries(batch.points);
}
