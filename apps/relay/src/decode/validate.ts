// The checks a decoded message must pass before the aggregate sees it. decodeRecord runs them for every Kafka record,
// and the HTTP ingest runs decodeRecord on every message before producing it: one validator for both paths.
import type { Labels } from '@prom-relay/codec';
import type { IngestBatch, InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import type { BodyFormat } from './headers.js';
import { labelsIdentity, seriesIdentity } from './identity.js';
import { textIdentityHash } from './text-point.js';

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
export function checkCounterValues(points: readonly InputPoint[], readsAsTotal?: (point: InputPoint) => boolean): void {
  for (const p of points) {
    const v = p.value;
    // Fast path: an ordinary non-negative finite value needs no type check.
    if (v >= 0 && v <= MAX_COUNTER_INPUT) continue;
    if (p.staleMarker === true) continue; // no value: a total ignores it
    const byRule = !isCounterLike(p);
    if (byRule && (readsAsTotal === undefined || !readsAsTotal(p))) continue;
    const problem = counterValueProblem(v)!;
    throw new DecodeError(
      'PROM_RELAY_DECODE_VALUE',
      byRule
        ? `${p.type} series ${describeSeries(p.labels)} has value ${formatValue(v)} (${problem}): an aggregation rule reads it as a running total (inputType counter or a total output), whose values must be finite numbers from 0 to ${MAX_COUNTER_INPUT}`
        : `${p.type} series ${describeSeries(p.labels)} has value ${formatValue(v)} (${problem}): a ${p.type} value must be a finite number from 0 to ${MAX_COUNTER_INPUT}`,
    );
  }
}

/**
 * Throws DecodeError DUPLICATE when two points of one text body are the same series (after the header's job and
 * grouping labels override the body's), as Pushgateway refuses such a push. Compared by label set, so `x{a="1",b="2"}`
 * and `x{b="2",a="1"}` are one series.
 */
export function checkDuplicateSeries(points: readonly InputPoint[], overridden: ReadonlySet<string> = new Set(['job'])): void {
  if (checkByHashes(points, overridden)) return;
  const seen = new Set<string>();
  for (const p of points) {
    const key = p.key !== undefined ? seriesIdentity(p.key, overridden) : labelsIdentity(p.labels, overridden);
    const before = seen.size;
    // One hash lookup: the set did not grow when the identity was already in it.
    if (seen.add(key).size === before) {
      throw new DecodeError(
        'PROM_RELAY_DECODE_DUPLICATE',
        `series ${describeSeries(p.labels)} appears more than once in the body (after the job and grouping labels override the body's)`,
      );
    }
  }
}

/** Probes of a hash table per point, in all, beyond which a body's hashes are not taken as spread (checkByHashes). */
export const PROBES_PER_POINT = 8;

/** Scratch for checkByHashes: an open-addressing table of point indices + 1 and their identity hashes. */
let slots = new Int32Array(256);
let slotHashes = new Int32Array(256);

/**
 * checkDuplicateSeries for points of the text decoder, which hashed each series identity while parsing: identities
 * are built and compared only for equal hashes. False when a point has no hash for `overridden`, when two different
 * series share a hash, or when the table probes more than a few times per point (hashes crowding it; a body can be
 * written to have many equal hashes: FNV-1a multicollisions are cheap to make): the caller then compares identities
 * in a Set, linear in the body.
 */
function checkByHashes(points: readonly InputPoint[], overridden: ReadonlySet<string>): boolean {
  const n = points.length;
  let size = 16;
  while (size < n * 2) size <<= 1;
  if (slots.length < size) {
    slots = new Int32Array(size);
    slotHashes = new Int32Array(size);
  }
  const mask = size - 1;
  slots.fill(0, 0, size);
  let budget = PROBES_PER_POINT * n + PROBES_PER_POINT;
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    const h = textIdentityHash(p, overridden);
    if (h === undefined || p.key === undefined) return false;
    let slot = h & mask;
    for (;;) {
      const at = slots[slot]!;
      if (at === 0) break;
      if (--budget < 0) return false;
      if (slotHashes[slot] === h) {
        if (seriesIdentity(points[at - 1]!.key!, overridden) === seriesIdentity(p.key, overridden)) {
          throw new DecodeError(
            'PROM_RELAY_DECODE_DUPLICATE',
            `series ${describeSeries(p.labels)} appears more than once in the body (after the job and grouping labels override the body's)`,
          );
        }
        // Two series of one hash (rare by chance, or written so): the caller compares identities instead.
        return false;
      }
      slot = (slot + 1) & mask;
    }
    slots[slot] = i + 1;
    slotHashes[slot] = h;
  }
  return true;
}

/**
 * Every check of a decoded batch: counter-like values finite, not negative and within MAX_COUNTER_INPUT (all formats);
 * no series twice in a text or protobuf MetricFamily body (a registry snapshot). JSON lines and Remote Write are sequences of samples, where
 * one series may come several times in order (Prometheus sends one series in several entries of a request).
 */
export function validateBatch(batch: IngestBatch, format: BodyFormat, readsAsTotal?: (point: InputPoint) => boolean): void {
  checkCounterValues(batch.points, readsAsTotal);
  if (format === 'text' || format === 'metric-family') checkDuplicateSeries(batch.points, new Set(['job', ...Object.keys(batch.grouping)]));
}
