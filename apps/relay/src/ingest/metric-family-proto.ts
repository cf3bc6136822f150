// The Pushgateway's protobuf delimited format (io.prometheus.client.MetricFamily), the Go client's default, read into text.
import { formatExposition } from '@prom-relay/codec';
import type { ExpositionSample, ExpositionType, Labels, MetricFamily } from '@prom-relay/codec';
import { IngestError } from './errors.js';

export function isMetricFamilyProtobuf(contentType: string): boolean {
  return /^application\/vnd\.google\.protobuf\b/i.test(contentType) && /proto=io\.prometheus\.client\.MetricFamily/i.test(contentType);
}

function bad(message: string, offset: number): IngestError {
  return new IngestError('PROM_RELAY_INGEST_BODY', `protobuf MetricFamily body: ${message} at byte ${offset}`);
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
}

const TYPES: Record<number, ExpositionType> = { 0: 'counter', 1: 'gauge', 2: 'summary', 3: 'untyped', 4: 'histogram' };

function readValueMessage(r: Reader): number {
  let value = 0;
  r.fields((f, w) => (f === 1 && w === 1 ? ((value = r.double()), true) : false));
  return value;
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

interface MetricParts {
  labels: Labels;
  timestamp?: number;
  value?: number;
  count?: number;
  sum?: number;
  /** [upper bound or quantile, value] */
  points: [number, number][];
}

function readSummaryOrHistogram(r: Reader, m: MetricParts, histogram: boolean): void {
  r.fields((f, w) => {
    if (f === 1 && w === 0) m.count = r.varint();
    else if (f === 4 && w === 1 && histogram) m.count = r.double();
    else if (f === 2 && w === 1) m.sum = r.double();
    else if (f === 3 && w === 2) {
      const sub = r.bytes();
      let a = 0;
      let b = 0;
      sub.fields((sf, sw) => {
        // Quantile {quantile=1, value=2}; Bucket {cumulative_count=1 (varint), upper_bound=2, cumulative_count_float=4}
        if (!histogram && sf === 1 && sw === 1) a = sub.double();
        else if (!histogram && sf === 2 && sw === 1) b = sub.double();
        else if (histogram && sf === 1 && sw === 0) b = sub.varint();
        else if (histogram && sf === 4 && sw === 1) b = sub.double();
        else if (histogram && sf === 2 && sw === 1) a = sub.double();
        else return false;
        return true;
      });
      m.points.push([a, b]);
    } else return false;
    return true;
  });
}

function formatBound(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

function readMetric(r: Reader, family: MetricFamily): void {
  const m: MetricParts = { labels: {}, points: [] };
  r.fields((f, w) => {
    if (f === 1 && w === 2) readLabelPair(r.bytes(), m.labels);
    else if ((f === 2 || f === 3 || f === 5) && w === 2) m.value = readValueMessage(r.bytes());
    else if (f === 4 && w === 2) readSummaryOrHistogram(r.bytes(), m, false);
    else if (f === 7 && w === 2) readSummaryOrHistogram(r.bytes(), m, true);
    else if (f === 6 && w === 0) m.timestamp = r.varint();
    else return false;
    return true;
  });
  const at = m.timestamp !== undefined ? { timestamp: m.timestamp } : {};
  const name = family.name;
  if (family.type === 'histogram' || family.type === 'summary') {
    const histogram = family.type === 'histogram';
    let sawInf = false;
    for (const [bound, value] of m.points) {
      if (histogram && bound === Infinity) sawInf = true;
      const extra: Labels = histogram ? { le: formatBound(bound) } : { quantile: formatBound(bound) };
      family.samples.push({ name: histogram ? `${name}_bucket` : name, labels: { ...m.labels, ...extra }, value, ...at });
    }
    // The protobuf format leaves out the +Inf bucket; the text format needs it (it equals the count).
    if (histogram && !sawInf) family.samples.push({ name: `${name}_bucket`, labels: { ...m.labels, le: '+Inf' }, value: m.count ?? 0, ...at });
    family.samples.push({ name: `${name}_sum`, labels: m.labels, value: m.sum ?? 0, ...at });
    family.samples.push({ name: `${name}_count`, labels: m.labels, value: m.count ?? 0, ...at });
    return;
  }
  family.samples.push({ name, labels: m.labels, value: m.value ?? 0, ...at });
}

function readFamily(r: Reader): MetricFamily {
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
  for (const m of metrics) readMetric(m, family);
  return family;
}

/** Reads length-delimited MetricFamily messages and writes them as text exposition 0.0.4. */
export function metricFamiliesToText(body: Buffer): string {
  const families: MetricFamily[] = [];
  const r = new Reader(body);
  while (!r.done()) families.push(readFamily(r.bytes()));
  return formatExposition(families);
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
      if (familyName === name) return readFamily(m).samples[0]?.value;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
