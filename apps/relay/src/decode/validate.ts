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

/**
 * True when a series as written (`name{a="x",b="y"}`) is already in canonical form: no blanks, label names strictly
 * ascending, no empty value, no `{}`, no trailing comma, and no label the headers override (`job`, grouping names).
 * Then the written text itself identifies the series; registries mostly write it so, and no label set is built.
 */
function isCanonicalSeriesText(key: string, overridden: ReadonlySet<string>): boolean {
  let pos = key.indexOf('{');
  if (pos < 0) return key.indexOf(' ') < 0 && key.indexOf('\t') < 0;
  const beforeBrace = key.charCodeAt(pos - 1);
  if (beforeBrace === 32 || beforeBrace === 9) return false; // `name {`
  if (key.charCodeAt(key.length - 1) !== 125 || pos === key.length - 2) return false; // `{}`
  pos++;
  let prevStart = -1;
  let prevLen = 0;
  for (;;) {
    const nameStart = pos;
    while (pos < key.length && key.charCodeAt(pos) !== 61) pos++; // =
    const nameLen = pos - nameStart;
    if (nameLen === 0 || key.charCodeAt(pos + 1) !== 34) return false; // blank, or not `="`
    if (prevStart >= 0 && compareRuns(key, prevStart, prevLen, nameStart, nameLen) >= 0) return false;
    for (let i = nameStart; i < pos; i++) {
      const c = key.charCodeAt(i);
      if (c === 32 || c === 9) return false;
    }
    if (overridden.size > 0 && overridden.has(key.slice(nameStart, pos))) return false;
    pos += 2;
    if (key.charCodeAt(pos) === 34) return false; // empty value
    while (pos < key.length) {
      const c = key.charCodeAt(pos);
      if (c === 92) pos += 2;
      else if (c === 34) break;
      else pos++;
    }
    pos++; // closing quote
    const next = key.charCodeAt(pos);
    if (next === 125) return pos === key.length - 1;
    if (next !== 44 || key.charCodeAt(pos + 1) === 125) return false; // only `,` then another label
    pos++;
    prevStart = nameStart;
    prevLen = nameLen;
  }
}

/** Compares two runs of `s` as strings (code unit order, as Array.prototype.sort does). */
function compareRuns(s: string, a: number, aLen: number, b: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(a + i) - s.charCodeAt(b + i);
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

function escapeValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** The canonical series text of a label set (the header-overridden labels left out: equal for every point). */
function canonicalSeriesText(labels: Labels, overridden: ReadonlySet<string>): string {
  const names = Object.keys(labels).filter((n) => n !== '__name__' && !overridden.has(n) && labels[n] !== '');
  names.sort();
  const name = labels['__name__'] ?? '';
  if (names.length === 0) return name;
  return `${name}{${names.map((n) => `${n}="${escapeValue(labels[n]!)}"`).join(',')}}`;
}

/**
 * Throws DecodeError DUPLICATE when two points of one text body are the same series (after the header's job and
 * grouping labels override the body's), as Pushgateway refuses such a push. Compared by label set, so `x{a="1",b="2"}`
 * and `x{b="2",a="1"}` are one series; a series written in canonical form is compared by its text alone.
 */
export function checkDuplicateSeries(points: readonly InputPoint[], overridden: ReadonlySet<string> = new Set(['job'])): void {
  const seen = new Set<string>();
  for (const p of points) {
    const raw = p.key;
    const key = raw !== undefined && isCanonicalSeriesText(raw, overridden) ? raw : canonicalSeriesText(p.labels, overridden);
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
  if (format === 'text') checkDuplicateSeries(batch.points, new Set(['job', ...Object.keys(batch.grouping)]));
}
