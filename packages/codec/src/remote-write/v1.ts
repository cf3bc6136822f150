import { CodecError } from '../errors.js';
import { setLabel } from '../labels.js';
import { ProtoReader } from '../protobuf/reader.js';
import { ProtoWriter } from '../protobuf/writer.js';
import type { Exemplar, Labels, MetricMetadata, Sample, TimeSeries, WriteRequest } from '../types.js';
import { duplicateLabel, invalidLabelValue, invalidTimestamp, sortedNames } from './common.js';
import { METRIC_TYPE_NAMES, METRIC_TYPE_NUMBERS } from './enums.js';
import { readHistogram, writeHistogram } from './histogram.js';

// Field tags of prometheus.WriteRequest and friends (proto/remote.proto, proto/types.proto): (field << 3) | wire type.
const TAG_TIMESERIES = 0x0a;
const TAG_METADATA = 0x1a;
const TAG_LABELS = 0x0a;
const TAG_SAMPLES = 0x12;
const TAG_EXEMPLARS = 0x1a;
const TAG_HISTOGRAMS = 0x22;
const TAG_NAME = 0x0a;
const TAG_VALUE_STR = 0x12;
const TAG_VALUE_DOUBLE = 0x09;
const TAG_TIMESTAMP = 0x10;
const TAG_EXEMPLAR_VALUE = 0x11;
const TAG_EXEMPLAR_TIMESTAMP = 0x18;

let sharedWriter: ProtoWriter | undefined;

function writeLabels(w: ProtoWriter, labels: Labels): void {
  for (const name of sortedNames(labels)) {
    const value = labels[name];
    if (typeof value !== 'string') throw invalidLabelValue(name, value);
    w.uint32(TAG_LABELS);
    const at = w.fork(1);
    if (name !== '') {
      w.uint32(TAG_NAME);
      w.string(name);
    }
    if (value !== '') {
      w.uint32(TAG_VALUE_STR);
      w.string(value);
    }
    w.join(at, 1);
  }
}

/** Writes a Sample body: value (raw stale bits when flagged), then timestamp. */
export function writeSample(w: ProtoWriter, s: Sample): void {
  const ts = s.timestamp;
  if (!Number.isInteger(ts)) throw invalidTimestamp(ts);
  if (s.stale === true) {
    w.uint32(TAG_VALUE_DOUBLE);
    w.staleNaN();
  } else if (s.value !== 0 || 1 / s.value < 0) {
    w.uint32(TAG_VALUE_DOUBLE);
    w.double(s.value);
  }
  if (ts !== 0) {
    w.uint32(TAG_TIMESTAMP);
    w.int64(ts);
  }
}

function writeSeries(w: ProtoWriter, series: TimeSeries): void {
  writeLabels(w, series.labels);
  for (const s of series.samples) {
    w.uint32(TAG_SAMPLES);
    const at = w.fork(1);
    writeSample(w, s);
    w.join(at, 1);
  }
  if (series.exemplars) {
    for (const e of series.exemplars) {
      w.uint32(TAG_EXEMPLARS);
      const at = w.fork(1);
      writeLabels(w, e.labels);
      if (e.value !== 0 || 1 / e.value < 0) {
        w.uint32(TAG_EXEMPLAR_VALUE);
        w.double(e.value);
      }
      if (e.timestamp !== undefined && e.timestamp !== 0) {
        if (!Number.isInteger(e.timestamp)) throw invalidTimestamp(e.timestamp);
        w.uint32(TAG_EXEMPLAR_TIMESTAMP);
        w.int64(e.timestamp);
      }
      w.join(at, 1);
    }
  }
  if (series.histograms) {
    for (const h of series.histograms) {
      w.uint32(TAG_HISTOGRAMS);
      const at = w.fork(1);
      writeHistogram(w, h);
      w.join(at, 1);
    }
  }
}

function writeMetadata(w: ProtoWriter, m: MetricMetadata): void {
  const type = METRIC_TYPE_NUMBERS[m.type];
  if (type === undefined) throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `unknown metric type ${JSON.stringify(m.type)}`);
  if (type !== 0) {
    w.uint32(0x08);
    w.uint32(type);
  }
  if (m.metricFamilyName) {
    w.uint32(0x12);
    w.string(m.metricFamilyName);
  }
  if (m.help) {
    w.uint32(0x22);
    w.string(m.help);
  }
  if (m.unit) {
    w.uint32(0x2a);
    w.string(m.unit);
  }
}

/** Encodes a Remote Write 1.0 `prometheus.WriteRequest` (uncompressed protobuf); label names are written sorted. */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  // One scratch writer is reused across calls (encoding is synchronous), so steady state allocates only the result.
  const w = sharedWriter ?? new ProtoWriter(64 * 1024);
  sharedWriter = undefined;
  w.pos = 0;
  try {
    if (!req || !Array.isArray(req.timeseries)) {
      throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'a WriteRequest needs a timeseries array');
    }
    for (const series of req.timeseries) {
      w.uint32(TAG_TIMESERIES);
      // Most series fit in 128..16383 bytes.
      const at = w.fork(2);
      writeSeries(w, series);
      w.join(at, 2);
    }
    if (req.metadata) {
      for (const m of req.metadata) {
        w.uint32(TAG_METADATA);
        const at = w.fork(1);
        writeMetadata(w, m);
        w.join(at, 1);
      }
    }
    return w.finish();
  } finally {
    // Do not pin a huge buffer after one huge request.
    if (w.buf.length <= 8 * 1024 * 1024) sharedWriter = w;
  }
}

/** Reads repeated Label messages into a plain label set; duplicate names are an error, not a silent overwrite. */
export function readLabel(r: ProtoReader, end: number, labels: Labels, tagAt: number): void {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    if (tag === TAG_NAME) name = r.string(end);
    else if (tag === TAG_VALUE_STR) value = r.string(end);
    else {
      const field = tag >>> 3;
      if (field === 1 || field === 2) throw r.wireType(field === 1 ? 'Label.name' : 'Label.value', tag & 7, at);
      r.skip(tag & 7, at);
    }
  }
  r.expectEnd(end, 'Label');
  if (Object.hasOwn(labels, name)) throw duplicateLabel(name, tagAt);
  setLabel(labels, name, value);
}

export function readSample(r: ProtoReader, end: number): Sample {
  let value = 0;
  let timestamp = 0;
  let stale = false;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    if (tag === TAG_VALUE_DOUBLE) {
      value = r.double();
      stale = r.lastWasStale;
    } else if (tag === TAG_TIMESTAMP) {
      timestamp = r.int64();
    } else {
      const field = tag >>> 3;
      if (field === 1 || field === 2) throw r.wireType(field === 1 ? 'Sample.value' : 'Sample.timestamp', tag & 7, at);
      r.skip(tag & 7, at);
    }
  }
  r.expectEnd(end, 'Sample');
  return stale ? { value, timestamp, stale: true } : { value, timestamp };
}

function readExemplar(r: ProtoReader, end: number): Exemplar {
  const labels: Labels = {};
  let value = 0;
  let timestamp: number | undefined;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    switch (tag) {
      case TAG_LABELS:
        readLabel(r, r.delimited(end), labels, at);
        break;
      case TAG_EXEMPLAR_VALUE:
        value = r.double();
        break;
      case TAG_EXEMPLAR_TIMESTAMP:
        timestamp = r.int64();
        break;
      default: {
        const field = tag >>> 3;
        if (field >= 1 && field <= 3) throw r.wireType(`Exemplar.${field}`, tag & 7, at);
        r.skip(tag & 7, at);
      }
    }
  }
  r.expectEnd(end, 'Exemplar');
  return timestamp === undefined ? { labels, value } : { labels, value, timestamp };
}

function readSeries(r: ProtoReader, end: number): TimeSeries {
  const labels: Labels = {};
  const samples: Sample[] = [];
  let exemplars: Exemplar[] | undefined;
  let histograms: TimeSeries['histograms'];
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    switch (tag) {
      case TAG_LABELS:
        readLabel(r, r.delimited(end), labels, at);
        break;
      case TAG_SAMPLES:
        samples.push(readSample(r, r.delimited(end)));
        break;
      case TAG_EXEMPLARS:
        (exemplars ??= []).push(readExemplar(r, r.delimited(end)));
        break;
      case TAG_HISTOGRAMS:
        (histograms ??= []).push(readHistogram(r, r.delimited(end)));
        break;
      default: {
        const field = tag >>> 3;
        if (field >= 1 && field <= 4) throw r.wireType(`TimeSeries.${field}`, tag & 7, at);
        r.skip(tag & 7, at);
      }
    }
  }
  r.expectEnd(end, 'TimeSeries');
  const series: TimeSeries = { labels, samples };
  if (exemplars) series.exemplars = exemplars;
  if (histograms) series.histograms = histograms;
  return series;
}

function readMetadata(r: ProtoReader, end: number): MetricMetadata {
  const m: MetricMetadata = { type: 'unknown', metricFamilyName: '' };
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    switch (tag) {
      case 0x08:
        m.type = METRIC_TYPE_NAMES[r.uint32()] ?? 'unknown';
        break;
      case 0x12:
        m.metricFamilyName = r.string(end);
        break;
      case 0x22:
        m.help = r.string(end);
        break;
      case 0x2a:
        m.unit = r.string(end);
        break;
      default: {
        const field = tag >>> 3;
        if (field === 1 || field === 2 || field === 4 || field === 5) throw r.wireType(`MetricMetadata.${field}`, tag & 7, at);
        r.skip(tag & 7, at);
      }
    }
  }
  r.expectEnd(end, 'MetricMetadata');
  if (m.help === '') delete m.help;
  if (m.unit === '') delete m.unit;
  return m;
}

/** Decodes a Remote Write 1.0 `prometheus.WriteRequest` (uncompressed protobuf). Throws CodecError on bad bytes. */
export function decodeWriteRequest(body: Uint8Array): WriteRequest {
  if (!(body instanceof Uint8Array)) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'decodeWriteRequest needs a Uint8Array body');
  }
  const r = new ProtoReader(body);
  const timeseries: TimeSeries[] = [];
  let metadata: MetricMetadata[] | undefined;
  const end = r.end;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    if (tag === TAG_TIMESERIES) {
      timeseries.push(readSeries(r, r.delimited(end)));
    } else if (tag === TAG_METADATA) {
      (metadata ??= []).push(readMetadata(r, r.delimited(end)));
    } else {
      const field = tag >>> 3;
      if (field === 1 || field === 3) throw r.wireType(`WriteRequest.${field}`, tag & 7, at);
      r.skip(tag & 7, at);
    }
  }
  return metadata ? { timeseries, metadata } : { timeseries };
}

