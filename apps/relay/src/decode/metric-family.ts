// The Pushgateway's protobuf delimited format (io.prometheus.client.MetricFamily, client_model metrics.proto), the Go
// client's default push format. Classic parts (counters, gauges, summaries, classic histogram buckets) are read into
// text exposition families; native histograms into the codec's Histogram (the Remote Write wire form). Exemplars
// (Counter.exemplar, Bucket.exemplar, Histogram.exemplars) are read beside them: text exposition 0.0.4 has none.
import { formatExposition, isValidLabelName } from '@prom-relay/codec';
import type { Exemplar, ExpositionType, Histogram, Labels, MetricFamily, MetricMetadata } from '@prom-relay/codec';
import { histogramProblem } from '../aggregate/native-histogram.js';
import { UNDELIVERABLE_EXEMPLAR, exemplarWithinLimits, latestExemplar } from '../exemplars.js';
import type { InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import type { DecodeLimits } from './limits.js';
import { decodeExpositionText } from './text.js';

/** The content type the Go client pushes, and the one the ingest writes to Kafka for a push with native histograms. */
export const METRIC_FAMILY_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

export function isMetricFamilyProtobuf(contentType: string): boolean {
  return /^application\/vnd\.google\.protobuf\b/i.test(contentType) && /proto=io\.prometheus\.client\.MetricFamily/i.test(contentType);
}

function bad(message: string, offset: number): DecodeError {
  return new DecodeError('PROM_RELAY_DECODE_PROTOBUF', `protobuf MetricFamily body: ${message} at byte ${offset}`);
}

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start = 0, readonly end = buf.length) {
    this.pos = start;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint', this.pos);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw bad('varint longer than 10 bytes', this.pos);
  }
  /** A zigzag varint (sint32, sint64); exact up to 2^53. */
  svarint(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw bad('truncated double', this.pos);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) throw bad('length past the end', this.pos);
    const sub = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }
  string(): string {
    const sub = this.bytes();
    return this.buf.toString('utf8', sub.pos, sub.end);
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw bad(`wire type ${wireType}`, this.pos);
    if (this.pos > this.end) throw bad('field past the end', this.pos);
  }
  /** Calls onField(fieldNumber, wireType) for each field; the callback reads or returns false to skip. */
  fields(onField: (field: number, wireType: number) => boolean): void {
    while (!this.done()) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (!onField(field, wireType)) this.skip(wireType);
    }
  }
  /** A repeated scalar field, packed (wire type 2) or not: calls read once per element. */
  repeated(wireType: number, scalarWire: number, read: (r: Reader) => void): boolean {
    if (wireType === scalarWire) {
      read(this);
      return true;
    }
    if (wireType !== 2) return false;
    const sub = this.bytes();
    while (!sub.done()) read(sub);
    return true;
  }
}

const TYPES: Record<number, ExpositionType> = { 0: 'counter', 1: 'gauge', 2: 'summary', 3: 'untyped', 4: 'histogram' };

/** Gauge, Counter or Untyped: the value (field 1) and, for a Counter, its exemplar (field 2). */
function readValueMessage(r: Reader, m: MetricParts, counter: boolean): void {
  r.fields((f, w) => {
    if (f === 1 && w === 1) m.value = r.double();
    else if (counter && f === 2 && w === 2) m.exemplar = readExemplar(r.bytes());
    else return false;
    return true;
  });
  m.value ??= 0;
}

/** google.protobuf.Timestamp {seconds = 1, nanos = 2} in ms; undefined for one at or before 1970 (read as none). */
function readTimestamp(r: Reader): number | undefined {
  const at = readSecondsNanos(r);
  return at === undefined ? undefined : at.seconds * 1000 + Math.floor(at.nanos / 1e6);
}

/** A google.protobuf.Timestamp, when it is a time after 1970 (a negative int64 arrives as a 10-byte varint: past 2^53). */
function readSecondsNanos(r: Reader): { seconds: number; nanos: number } | undefined {
  let seconds = 0;
  let nanos = 0;
  r.fields((f, w) => {
    if (f === 1 && w === 0) seconds = r.varint();
    else if (f === 2 && w === 0) nanos = r.varint();
    else return false;
    return true;
  });
  const ms = seconds * 1000 + Math.floor(nanos / 1e6);
  return ms > 0 && Number.isSafeInteger(ms) ? { seconds, nanos } : undefined;
}

/**
 * Exemplar {label = 1, value = 2, timestamp = 3}; an empty value is no label. One whose label names break the
 * Prometheus rules (the Go client takes UTF-8 names such as `trace.id`) or repeat is UNDELIVERABLE_EXEMPLAR: dropped and
 * counted where the message is applied, the push applied without it (a receiver may refuse such a name).
 */
function readExemplar(r: Reader): Exemplar {
  const labels: Labels = {};
  const names = new Set<string>();
  let deliverable = true;
  let value = 0;
  let timestamp: number | undefined;
  r.fields((f, w) => {
    if (f === 1 && w === 2) {
      const pair = r.bytes();
      let name = '';
      let v = '';
      pair.fields((pf, pw) => (pw === 2 && (pf === 1 || pf === 2) ? (pf === 1 ? (name = pair.string()) : (v = pair.string()), true) : false));
      if (!isValidLabelName(name) || names.has(name)) deliverable = false;
      names.add(name);
      if (v === '' || !deliverable) return true;
      if (name === '__proto__') Object.defineProperty(labels, name, { value: v, enumerable: true, writable: true, configurable: true });
      else labels[name] = v;
    } else if (f === 2 && w === 1) value = r.double();
    else if (f === 3 && w === 2) timestamp = readTimestamp(r.bytes());
    else return false;
    return true;
  });
  if (!deliverable) return UNDELIVERABLE_EXEMPLAR;
  return timestamp === undefined ? { labels, value } : { labels, value, timestamp };
}

function readLabelPair(r: Reader, labels: Labels): void {
  let name = '';
  let value = '';
  r.fields((f, w) => {
    if (w !== 2) return false;
    if (f === 1) name = r.string();
    else if (f === 2) value = r.string();
    else return false;
    return true;
  });
  labels[name] = value;
}

/** The native parts of a client_model Histogram (fields 5 to 14); see isNative. */
interface NativeParts {
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  zeroCountFloat?: number;
  countFloat?: number;
  negativeSpans: { offset: number; length: number }[];
  negativeDeltas: number[];
  negativeCounts: number[];
  positiveSpans: { offset: number; length: number }[];
  positiveDeltas: number[];
  positiveCounts: number[];
}

interface MetricParts {
  labels: Labels;
  timestamp?: number;
  value?: number;
  /** a Counter's exemplar */
  exemplar?: Exemplar;
  count?: number;
  sum?: number;
  /** [upper bound or quantile, value, the bucket's exemplar] */
  points: [number, number, Exemplar?][];
  native?: NativeParts;
  /** a histogram's own exemplars (Histogram.exemplars, field 16: for its native form) */
  exemplars?: Exemplar[];
}

function readSpan(r: Reader): { offset: number; length: number } {
  const span = { offset: 0, length: 0 };
  r.fields((f, w) => {
    if (f === 1 && w === 0) span.offset = r.svarint();
    else if (f === 2 && w === 0) span.length = r.varint();
    else return false;
    return true;
  });
  return span;
}

function readSummaryOrHistogram(r: Reader, m: MetricParts, histogram: boolean): void {
  const n: NativeParts = { negativeSpans: [], negativeDeltas: [], negativeCounts: [], positiveSpans: [], positiveDeltas: [], positiveCounts: [] };
  r.fields((f, w) => {
    if (f === 1 && w === 0) m.count = r.varint();
    else if (f === 4 && w === 1 && histogram) m.count = n.countFloat = r.double();
    else if (f === 2 && w === 1) m.sum = r.double();
    else if (f === 3 && w === 2) {
      const sub = r.bytes();
      let a = 0;
      let b = 0;
      let exemplar: Exemplar | undefined;
      sub.fields((sf, sw) => {
        // Quantile {quantile=1, value=2}; Bucket {cumulative_count=1 (varint), upper_bound=2, exemplar=3, cumulative_count_float=4}
        if (!histogram && sf === 1 && sw === 1) a = sub.double();
        else if (!histogram && sf === 2 && sw === 1) b = sub.double();
        else if (histogram && sf === 1 && sw === 0) b = sub.varint();
        else if (histogram && sf === 4 && sw === 1) b = sub.double();
        else if (histogram && sf === 2 && sw === 1) a = sub.double();
        else if (histogram && sf === 3 && sw === 2) exemplar = readExemplar(sub.bytes());
        else return false;
        return true;
      });
      m.points.push(exemplar === undefined ? [a, b] : [a, b, exemplar]);
    } else if (!histogram) return false;
    // Native histogram fields (client_model metrics.proto, Histogram 5-14).
    else if (f === 5 && w === 0) n.schema = r.svarint();
    else if (f === 6 && w === 1) n.zeroThreshold = r.double();
    else if (f === 7 && w === 0) n.zeroCount = r.varint();
    else if (f === 8 && w === 1) n.zeroCountFloat = r.double();
    else if ((f === 9 || f === 12) && w === 2) (f === 9 ? n.negativeSpans : n.positiveSpans).push(readSpan(r.bytes()));
    else if (f === 10 || f === 13) return r.repeated(w, 0, (s) => (f === 10 ? n.negativeDeltas : n.positiveDeltas).push(s.svarint()));
    else if (f === 11 || f === 14) return r.repeated(w, 1, (s) => (f === 11 ? n.negativeCounts : n.positiveCounts).push(s.double()));
    else if (f === 16 && w === 2) (m.exemplars ??= []).push(readExemplar(r.bytes()));
    else return false;
    return true;
  });
  if (histogram && isNative(n)) m.native = n;
}

/**
 * Prometheus's rule (model/textparse/protobufparse.go, isNativeHistogram): spans, a zero threshold or a zero bucket
 * count make a histogram native. The Go client adds a no-op span (offset 0, length 0) to a native histogram with no
 * observations and a zero threshold of 0, so that it is never taken for a classic one.
 */
function isNative(n: NativeParts): boolean {
  return n.positiveSpans.length > 0 || n.negativeSpans.length > 0 || (n.zeroThreshold ?? 0) > 0 || (n.zeroCount ?? 0) > 0 || (n.zeroCountFloat ?? 0) > 0;
}

/** The native parts as the codec's Histogram: integer (deltas) unless a float count, float zero count or counts say float. */
function toHistogram(m: MetricParts, n: NativeParts): Histogram {
  const isFloat = (n.countFloat ?? 0) > 0 || (n.zeroCountFloat ?? 0) > 0 || n.positiveCounts.length > 0 || n.negativeCounts.length > 0;
  const h: Histogram = {
    count: isFloat ? (n.countFloat ?? m.count ?? 0) : (m.count ?? 0),
    sum: m.sum ?? 0,
    schema: n.schema ?? 0,
    zeroThreshold: n.zeroThreshold ?? 0,
    zeroCount: isFloat ? (n.zeroCountFloat ?? n.zeroCount ?? 0) : (n.zeroCount ?? 0),
    // The no-op span of an empty histogram carries nothing: left out, as Prometheus does.
    negativeSpans: n.negativeSpans.filter((s) => s.length > 0 || s.offset !== 0),
    negativeDeltas: isFloat ? [] : n.negativeDeltas,
    negativeCounts: isFloat ? n.negativeCounts : [],
    positiveSpans: n.positiveSpans.filter((s) => s.length > 0 || s.offset !== 0),
    positiveDeltas: isFloat ? [] : n.positiveDeltas,
    positiveCounts: isFloat ? n.positiveCounts : [],
    resetHint: 'unknown',
    timestamp: m.timestamp ?? 0,
  };
  if (isFloat) h.isFloat = true;
  return h;
}

/**
 * A native histogram sample of a push: its family, its labels as written (without `__name__`), its histogram, and its
 * exemplars: Histogram.exemplars, or where it has none, those of its buckets (as Prometheus's parser reads them;
 * `withClassic`: they also go with the classic series, and are counted there when dropped).
 */
export interface NativeHistogramSample {
  family: string;
  help?: string;
  labels: Labels;
  histogram: Histogram;
  exemplars?: Exemplar[];
  withClassic?: true;
}

/** A classic sample's exemplar: the sample's index among all the families' samples, in body (and text) order. */
export interface SampleExemplar {
  sample: number;
  exemplar: Exemplar;
}

/** What a body holds beside its classic families: native histograms and exemplars, in body order. */
interface Extras {
  natives: NativeHistogramSample[];
  exemplars: SampleExemplar[];
  /** samples of the families read before the current one */
  samplesBefore: number;
}

function formatBound(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** The next sample pushed to `family` carries `exemplar`. */
function exemplarOfNext(extras: Extras, family: MetricFamily, exemplar: Exemplar): void {
  extras.exemplars.push({ sample: extras.samplesBefore + family.samples.length, exemplar });
}

function readMetric(r: Reader, family: MetricFamily, extras: Extras): void {
  const m: MetricParts = { labels: {}, points: [] };
  r.fields((f, w) => {
    if (f === 1 && w === 2) readLabelPair(r.bytes(), m.labels);
    else if ((f === 2 || f === 3 || f === 5) && w === 2) readValueMessage(r.bytes(), m, f === 3);
    else if (f === 4 && w === 2) readSummaryOrHistogram(r.bytes(), m, false);
    else if (f === 7 && w === 2) readSummaryOrHistogram(r.bytes(), m, true);
    else if (f === 6 && w === 0) m.timestamp = r.varint();
    else return false;
    return true;
  });
  const at = m.timestamp !== undefined ? { timestamp: m.timestamp } : {};
  const name = family.name;
  if (family.type === 'histogram' && m.native !== undefined) {
    const native: NativeHistogramSample = { family: name, ...(family.help !== undefined ? { help: family.help } : {}), labels: m.labels, histogram: toHistogram(m, m.native) };
    // A native histogram without classic buckets is that alone (as Prometheus scrapes it); with classic buckets, both
    // (as Prometheus with always_scrape_classic_histograms). A +Inf bucket alone is none: the Go client writes one to
    // carry the exemplar of a native histogram without classic buckets.
    const classic = m.points.some(([bound]) => bound !== Infinity);
    if (m.exemplars !== undefined) native.exemplars = m.exemplars;
    else {
      const ofBuckets = m.points.flatMap((p) => (p[2] !== undefined ? [p[2]] : []));
      if (ofBuckets.length > 0) native.exemplars = ofBuckets;
      if (ofBuckets.length > 0 && classic) native.withClassic = true;
    }
    // A Counter's exemplar in a histogram family (a hand-made body; Prometheus ignores it too): not carried, counted.
    if (m.exemplar !== undefined && !classic) (native.exemplars ??= []).push(UNDELIVERABLE_EXEMPLAR);
    extras.natives.push(native);
    if (!classic) return;
  }
  if (family.type === 'histogram' || family.type === 'summary') {
    const histogram = family.type === 'histogram';
    // A Counter's exemplar in a histogram or summary family (a hand-made body; Prometheus ignores it too): not carried,
    // counted where the message is applied (UNDELIVERABLE_EXEMPLAR on the metric's first sample).
    if (m.exemplar !== undefined) exemplarOfNext(extras, family, UNDELIVERABLE_EXEMPLAR);
    let sawInf = false;
    for (const [bound, value, exemplar] of m.points) {
      if (histogram && bound === Infinity) sawInf = true;
      const extra: Labels = histogram ? { le: formatBound(bound) } : { quantile: formatBound(bound) };
      if (exemplar !== undefined) exemplarOfNext(extras, family, exemplar);
      family.samples.push({ name: histogram ? `${name}_bucket` : name, labels: { ...m.labels, ...extra }, value, ...at });
    }
    // The protobuf format leaves out the +Inf bucket; the text format needs it (it equals the count). Not for a histogram
    // without buckets: its _sum and _count alone, as from a text push or a JSON line (text-inf-buckets.ts).
    if (histogram && !sawInf && m.points.length > 0) family.samples.push({ name: `${name}_bucket`, labels: { ...m.labels, le: '+Inf' }, value: m.count ?? 0, ...at });
    family.samples.push({ name: `${name}_sum`, labels: m.labels, value: m.sum ?? 0, ...at });
    family.samples.push({ name: `${name}_count`, labels: m.labels, value: m.count ?? 0, ...at });
    return;
  }
  if (m.exemplar !== undefined) exemplarOfNext(extras, family, m.exemplar);
  family.samples.push({ name, labels: m.labels, value: m.value ?? 0, ...at });
}

function readFamily(r: Reader, extras: Extras): MetricFamily {
  const family: MetricFamily = { name: '', type: 'untyped', samples: [] };
  const metrics: Reader[] = [];
  r.fields((f, w) => {
    if (f === 1 && w === 2) family.name = r.string();
    else if (f === 2 && w === 2) family.help = r.string();
    else if (f === 3 && w === 0) {
      const t = r.varint();
      const type = TYPES[t];
      if (type === undefined) throw bad(`metric type ${t} is not supported`, r.pos);
      family.type = type;
    } else if (f === 4 && w === 2) metrics.push(r.bytes());
    else return false;
    return true;
  });
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name)) throw bad(`metric family name ${JSON.stringify(family.name)} is not valid`, r.pos);
  // The type may follow the metrics on the wire: read them once it is known.
  for (const m of metrics) readMetric(m, family, extras);
  return family;
}

export interface MetricFamilies {
  /** the classic parts, as text exposition families */
  families: MetricFamily[];
  /** the native histograms, in body order */
  natives: NativeHistogramSample[];
  /** the exemplars of classic samples (a counter's, a `_bucket`'s), in body order */
  exemplars: SampleExemplar[];
}

/** Reads length-delimited MetricFamily messages; DecodeError PROTOBUF naming the byte where the body breaks. */
export function readMetricFamilies(body: Buffer): MetricFamilies {
  const families: MetricFamily[] = [];
  const extras: Extras = { natives: [], exemplars: [], samplesBefore: 0 };
  const r = new Reader(body);
  while (!r.done()) {
    const family = readFamily(r.bytes(), extras);
    families.push(family);
    extras.samplesBefore += family.samples.length;
  }
  return { families, natives: extras.natives, exemplars: extras.exemplars };
}

/** Whether a body carries exemplars (text exposition 0.0.4, which has none, would lose them). */
export function carriesExemplars(read: MetricFamilies): boolean {
  return read.exemplars.length > 0 || read.natives.some((n) => n.exemplars !== undefined);
}

/** The classic parts of a delimited body as text exposition 0.0.4 (native histograms left out). */
export function metricFamiliesText(families: MetricFamily[]): string {
  return formatExposition(families);
}

/**
 * A delimited body to points: the classic parts through the text decoder (the same limits, HELP and checks as a text
 * push), then one point per native histogram, `type: 'histogram'`, `family` and `__name__` the family name, `value` 0,
 * the header's job and grouping labels overriding the body's as for text. Exemplars within the limits (exemplars.ts)
 * ride on their sample's point (`exemplar`: a counter's on the counter, a bucket's on that `_bucket`, a native
 * histogram's latest on its point); `dropped.exemplars` counts those over the limits, left out.
 */
export function decodeMetricFamilies(
  body: Uint8Array,
  job: string,
  grouping: Labels,
  limits: DecodeLimits,
  metadataOut?: MetricMetadata[],
  dropped?: { exemplars: number },
): InputPoint[] {
  const { families, natives, exemplars } = readMetricFamilies(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  const points = decodeExpositionText(metricFamiliesText(families), job, grouping, limits, metadataOut);
  // The text decoder makes one point per sample line, in order: a sample's index is its point's.
  const now = Date.now();
  for (const { sample, exemplar } of exemplars) {
    if (exemplarWithinLimits(exemplar, now)) points[sample]!.exemplar = exemplar;
    else if (dropped !== undefined) dropped.exemplars++;
  }
  const helped = new Set(metadataOut?.map((m) => m.metricFamilyName));
  for (const n of natives) {
    // The checks Remote Write histograms pass (decode/remote-write.ts): what the aggregate cannot apply exactly is refused.
    const problem = histogramProblem(n.histogram);
    if (problem !== null) {
      const code = problem.startsWith('schema') ? 'PROM_RELAY_DECODE_UNSUPPORTED' : 'PROM_RELAY_DECODE_VALUE';
      throw new DecodeError(code, `native histogram ${n.family}: ${problem}`);
    }
    const labels: Labels = { __name__: n.family };
    for (const name of Object.keys(n.labels)) {
      if (!isValidLabelName(name) || name.startsWith('__')) throw new DecodeError('PROM_RELAY_DECODE_LABELS', `native histogram ${n.family}: invalid label name ${JSON.stringify(name)}`);
      const value = n.labels[name]!;
      if (value !== '') labels[name] = value;
    }
    labels['job'] = job;
    for (const g of Object.keys(grouping)) labels[g] = grouping[g]!;
    const point: InputPoint = { family: n.family, type: 'histogram', labels, value: 0, histogram: n.histogram };
    if (n.exemplars !== undefined) {
      const { latest, overLimit } = latestExemplar(n.exemplars, now);
      if (latest !== undefined) point.exemplar = latest;
      // Those of its classic buckets were counted with their buckets' samples.
      if (n.withClassic !== true && dropped !== undefined) dropped.exemplars += overLimit;
    }
    points.push(point);
    if (metadataOut !== undefined && n.help !== undefined && n.help !== '' && !helped.has(n.family)) {
      metadataOut.push({ metricFamilyName: n.family, type: 'histogram', help: n.help });
      helped.add(n.family);
    }
  }
  return points;
}

/**
 * The earliest `created_timestamp` of the body's counters, summaries and histograms (client_model: Counter field 3,
 * Summary field 4, Histogram field 15; the Go client sets them when a metric or child is made) as seconds and
 * nanoseconds, or undefined for none or a body that does not parse. A registry without process metrics is told apart
 * per process run by it: to the nanosecond, since two copies of a job started together create their metrics within one
 * millisecond (a CI run had both take one run id at millisecond precision).
 */
export function earliestCreated(body: Buffer): { seconds: number; nanos: number } | undefined {
  let earliest: { seconds: number; nanos: number } | undefined;
  const take = (r: Reader, field: number) => {
    r.fields((f, w) => {
      if (f !== field || w !== 2) return false;
      const at = readSecondsNanos(r.bytes());
      if (at !== undefined && (earliest === undefined || at.seconds < earliest.seconds || (at.seconds === earliest.seconds && at.nanos < earliest.nanos))) earliest = at;
      return true;
    });
  };
  try {
    const r = new Reader(body);
    while (!r.done()) {
      const family = r.bytes();
      family.fields((f, w) => {
        if (f !== 4 || w !== 2) return false;
        // A Metric: its Counter (3), Summary (4) or Histogram (7).
        const metric = family.bytes();
        metric.fields((mf, mw) => {
          const field = mf === 3 ? 3 : mf === 4 ? 4 : mf === 7 ? 15 : 0;
          if (field === 0 || mw !== 2) return false;
          take(metric.bytes(), field);
          return true;
        });
        return true;
      });
    }
  } catch {
    return undefined;
  }
  return earliest;
}

/**
 * The first value of the family named `name` in a delimited body, decoding only that family (the others are skipped
 * by length); undefined when absent or when the body does not parse (the full check reports that).
 */
export function familyValue(body: Buffer, name: string): number | undefined {
  try {
    const r = new Reader(body);
    while (!r.done()) {
      const m = r.bytes();
      const peek = new Reader(m.buf, m.pos, m.end);
      let familyName: string | undefined;
      peek.fields((f, w) => {
        if (familyName !== undefined || f !== 1 || w !== 2) return false;
        familyName = peek.string();
        return true;
      });
      if (familyName === name) return readFamily(m, { natives: [], exemplars: [], samplesBefore: 0 }).samples[0]?.value;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
