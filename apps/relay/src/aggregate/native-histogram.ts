/**
 * Native (exponential) histograms as the aggregate keeps them: absolute bucket counts by index, so increases,
 * resets and merges are per-bucket arithmetic. Follows Prometheus's rules (model/histogram): a bucket of schema `s`
 * and index `i` covers (2^((i-1)·2^-s), 2^(i·2^-s)] (negative buckets mirror it); lowering the resolution by `d`
 * maps index `i` to `((i-1) >> d) + 1`; a merge takes the coarsest schema and the widest zero bucket; a counter
 * reset is a lower count, zero count or bucket, a finer schema, or a narrower zero bucket.
 */
import type { Histogram } from '@prom-relay/codec';

/** A cumulative (or increase) native histogram with absolute counts per bucket index. */
export interface NativeHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
  /** float counts on the wire (count_float/...): a merge with one float input stays float */
  float: boolean;
}

/** Exponential schemas (custom-bucket schema -53 is refused at decode). */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;
/** `schema` of an accumulator nothing was added to yet: any input's schema is coarser. */
const UNSET_SCHEMA = 127;
/** Bucket indices beyond this cover no float64 value at any schema (2^1024 = +Inf at schema 8 is index 262144). */
const MAX_INDEX = 1024 * 256 + 1;

export function emptyHistogram(): NativeHistogram {
  return { schema: UNSET_SCHEMA, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0, positive: new Map(), negative: new Map(), float: false };
}

export function cloneHistogram(h: NativeHistogram): NativeHistogram {
  return { ...h, positive: new Map(h.positive), negative: new Map(h.negative) };
}

/**
 * What is wrong with a histogram sample for a total, or null. Gauge histograms and custom buckets have no merge the
 * relay can apply exactly yet; counts must be finite and non-negative. The sum may be anything (a NaN observation
 * makes it NaN, in Prometheus too).
 */
export function histogramProblem(h: Histogram): string | null {
  if (h.resetHint === 'gauge') return 'a gauge histogram (reset hint GAUGE), which the relay does not aggregate';
  if (!Number.isInteger(h.schema) || h.schema < MIN_SCHEMA || h.schema > MAX_SCHEMA) {
    return `schema ${h.schema}: only exponential schemas ${MIN_SCHEMA}..${MAX_SCHEMA} are aggregated (not custom buckets)`;
  }
  if (!(h.zeroThreshold >= 0 && Number.isFinite(h.zeroThreshold))) return `zero threshold ${h.zeroThreshold} is not a finite non-negative number`;
  if (!(h.count >= 0 && h.count <= 1e300)) return `count ${h.count} is not a finite non-negative number`;
  if (!(h.zeroCount >= 0 && h.zeroCount <= 1e300)) return `zero count ${h.zeroCount} is not a finite non-negative number`;
  for (const [side, spans, deltas, counts] of [
    ['positive', h.positiveSpans, h.positiveDeltas, h.positiveCounts],
    ['negative', h.negativeSpans, h.negativeDeltas, h.negativeCounts],
  ] as const) {
    let n = 0;
    let index = 0;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (!Number.isInteger(span.offset) || (i > 0 && span.offset < 0)) return `${side} span ${i} has offset ${span.offset}`;
      index += span.offset;
      n += span.length;
      index += span.length;
      if (Math.abs(index) > MAX_INDEX) return `${side} bucket index ${index} is out of range`;
    }
    const values = h.isFloat ? counts : deltas;
    if (values.length !== n) return `${side} spans hold ${n} buckets but ${values.length} ${h.isFloat ? 'counts' : 'deltas'} are given`;
    let c = 0;
    for (let i = 0; i < values.length; i++) {
      c = h.isFloat ? values[i]! : c + values[i]!;
      if (!(c >= 0 && c <= 1e300)) return `${side} bucket ${i} has count ${c}`;
    }
  }
  return null;
}

/** The wire form (spans + deltas or counts) as absolute counts by index; `histogramProblem` must have passed. */
export function fromWire(h: Histogram): NativeHistogram {
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positive: expand(h.positiveSpans, h.isFloat ? h.positiveCounts : h.positiveDeltas, h.isFloat === true),
    negative: expand(h.negativeSpans, h.isFloat ? h.negativeCounts : h.negativeDeltas, h.isFloat === true),
    float: h.isFloat === true,
  };
}

function expand(spans: Histogram['positiveSpans'], values: number[], float: boolean): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let k = 0;
  let c = 0;
  for (const span of spans) {
    index += span.offset;
    for (let j = 0; j < span.length; j++, index++, k++) {
      c = float ? values[k]! : c + values[k]!;
      if (c !== 0) out.set(index, c);
    }
  }
  return out;
}

/** The wire form of `h` at `timestamp` (integer histograms as deltas, float ones as counts). */
export function toWire(h: NativeHistogram, timestamp: number, startTimestamp?: number): Histogram {
  const pos = compact(h.positive, h.float);
  const neg = compact(h.negative, h.float);
  const out: Histogram = {
    count: h.count,
    sum: h.sum,
    schema: h.schema === UNSET_SCHEMA ? 0 : h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    negativeSpans: neg.spans,
    negativeDeltas: h.float ? [] : neg.values,
    negativeCounts: h.float ? neg.values : [],
    positiveSpans: pos.spans,
    positiveDeltas: h.float ? [] : pos.values,
    positiveCounts: h.float ? pos.values : [],
    // A running total never goes down: a receiver needs no reset detection.
    resetHint: 'no',
    timestamp,
  };
  if (h.float) out.isFloat = true;
  if (startTimestamp !== undefined && startTimestamp > 0 && startTimestamp < timestamp) out.startTimestamp = startTimestamp;
  return out;
}

function compact(buckets: Map<number, number>, float: boolean): { spans: Histogram['positiveSpans']; values: number[] } {
  const indices = [...buckets.keys()].sort((a, b) => a - b);
  const spans: Histogram['positiveSpans'] = [];
  const values: number[] = [];
  let next = 0; // the index after the last bucket written
  let previous = 0;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    const gap = index - next;
    if (spans.length === 0 || gap > 2) {
      spans.push({ offset: spans.length === 0 ? index : gap, length: 0 });
    } else {
      // A gap of one or two buckets costs less as empty buckets than as a new span (Prometheus does the same).
      for (let g = 0; g < gap; g++) {
        values.push(float ? 0 : -previous);
        previous = 0;
        spans[spans.length - 1]!.length++;
      }
    }
    const c = buckets.get(index)!;
    values.push(float ? c : c - previous);
    previous = c;
    spans[spans.length - 1]!.length++;
    next = index + 1;
  }
  return { spans, values };
}

/** Lowers the resolution of `h` (in place) to `schema` (≤ its own). */
export function reduceTo(h: NativeHistogram, schema: number): void {
  if (h.schema === UNSET_SCHEMA) {
    h.schema = schema;
    return;
  }
  const d = h.schema - schema;
  if (d <= 0) return;
  h.positive = reduceBuckets(h.positive, d);
  h.negative = reduceBuckets(h.negative, d);
  h.schema = schema;
}

function reduceBuckets(buckets: Map<number, number>, d: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [i, c] of buckets) {
    const j = ((i - 1) >> d) + 1;
    out.set(j, (out.get(j) ?? 0) + c);
  }
  return out;
}

/** Upper bound of the magnitude of bucket `i` at `schema`. */
function upperBound(i: number, schema: number): number {
  return Math.pow(2, i * Math.pow(2, -schema));
}

/**
 * Widens the zero bucket of `h` (in place) to at least `threshold`: buckets within it fold into the zero count; a
 * bucket that straddles it folds too and the threshold rises to its upper bound (as Prometheus does).
 */
export function widenZero(h: NativeHistogram, threshold: number): void {
  if (threshold <= h.zeroThreshold) return;
  let t = threshold;
  for (;;) {
    const before = t;
    for (const side of [h.positive, h.negative]) {
      for (const [i, c] of side) {
        if (upperBound(i - 1, h.schema) >= t) continue; // lower bound at or above t: outside the zero bucket
        h.zeroCount += c;
        side.delete(i);
        const upper = upperBound(i, h.schema);
        if (upper > t) t = upper;
      }
    }
    if (t === before) break;
  }
  h.zeroThreshold = t;
}

/**
 * What `cur` adds to `prev` (the same producer's previous cumulative histogram), or null when `cur` is a counter
 * reset (then all of `cur` is the increase). Neither is changed.
 */
export function increaseOf(prev: NativeHistogram, cur: NativeHistogram): NativeHistogram | null {
  if (cur.schema > prev.schema || cur.zeroThreshold < prev.zeroThreshold) return null;
  if (cur.count < prev.count || cur.zeroCount < prev.zeroCount) return null;
  let base = prev;
  if (prev.schema > cur.schema || prev.zeroThreshold < cur.zeroThreshold) {
    base = cloneHistogram(prev);
    reduceTo(base, cur.schema);
    widenZero(base, cur.zeroThreshold);
    if (base.zeroThreshold !== cur.zeroThreshold || cur.zeroCount < base.zeroCount) return null;
  }
  const inc: NativeHistogram = {
    schema: cur.schema,
    zeroThreshold: cur.zeroThreshold,
    zeroCount: cur.zeroCount - base.zeroCount,
    count: cur.count - base.count,
    sum: cur.sum - base.sum,
    positive: new Map(),
    negative: new Map(),
    float: cur.float,
  };
  if (!subtract(cur.positive, base.positive, inc.positive) || !subtract(cur.negative, base.negative, inc.negative)) return null;
  return inc;
}

function subtract(cur: Map<number, number>, prev: Map<number, number>, out: Map<number, number>): boolean {
  for (const [i, p] of prev) if ((cur.get(i) ?? 0) < p) return false;
  for (const [i, c] of cur) {
    const d = c - (prev.get(i) ?? 0);
    if (d !== 0) out.set(i, d);
  }
  return true;
}

/** Adds `inc` into `acc` (in place): the coarser schema and the wider zero bucket of the two win. `inc` is not changed. */
export function addInto(acc: NativeHistogram, inc: NativeHistogram): void {
  let add = inc;
  if (inc.schema > acc.schema && acc.schema !== UNSET_SCHEMA) {
    add = cloneHistogram(inc);
    reduceTo(add, acc.schema);
  } else reduceTo(acc, inc.schema);
  if (add.zeroThreshold !== acc.zeroThreshold) {
    if (add === inc) add = cloneHistogram(inc);
    // Each widening may raise the threshold (a straddling bucket): repeat until both agree.
    while (add.zeroThreshold !== acc.zeroThreshold) {
      const t = Math.max(add.zeroThreshold, acc.zeroThreshold);
      widenZero(acc, t);
      widenZero(add, t);
    }
  }
  acc.count += add.count;
  acc.sum += add.sum;
  acc.zeroCount += add.zeroCount;
  for (const [i, c] of add.positive) acc.positive.set(i, (acc.positive.get(i) ?? 0) + c);
  for (const [i, c] of add.negative) acc.negative.set(i, (acc.negative.get(i) ?? 0) + c);
  if (add.float) acc.float = true;
}

/** JSON form for checkpoints and partials: [schema, zeroThreshold, zeroCount, count, sum, float, positive, negative],
 *  buckets as flat [index, count, ...] arrays. Counts are finite (decode refuses others). */
export type HistogramState = [number, number, number, number, number | string, 0 | 1, number[], number[]];

export function histogramToState(h: NativeHistogram): HistogramState {
  const sum = Number.isFinite(h.sum) ? h.sum : String(h.sum);
  return [h.schema, h.zeroThreshold, h.zeroCount, h.count, sum, h.float ? 1 : 0, flatten(h.positive), flatten(h.negative)];
}

export function histogramFromState(s: unknown): NativeHistogram {
  if (!Array.isArray(s) || s.length !== 8) throw new Error('not a native histogram state');
  const [schema, zeroThreshold, zeroCount, count, sum, float, positive, negative] = s as HistogramState;
  for (const v of [schema, zeroThreshold, zeroCount, count]) if (typeof v !== 'number') throw new Error('native histogram state has a non-number');
  return {
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum: Number(sum),
    positive: unflatten(positive),
    negative: unflatten(negative),
    float: float === 1,
  };
}

function flatten(m: Map<number, number>): number[] {
  const out: number[] = [];
  for (const [i, c] of m) out.push(i, c);
  return out;
}

function unflatten(a: unknown): Map<number, number> {
  if (!Array.isArray(a) || a.length % 2 !== 0) throw new Error('native histogram buckets are malformed');
  const m = new Map<number, number>();
  for (let i = 0; i < a.length; i += 2) m.set(Number(a[i]), Number(a[i + 1]));
  return m;
}
