import { CodecError } from '../errors.js';
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from '../protobuf/reader.js';
import { ProtoWriter, ScratchWriter } from '../protobuf/writer.js';
import { compressRange, decompressToScratch } from '../snappy.js';
import type { DecompressOptions, Exemplar, Histogram, Labels, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest } from '../types.js';
import { checkSeries, invalidLabelValue, invalidTimestamp, sortedNames } from './common.js';
import { CacheProbe } from './cache-probe.js';
import { buildLabels } from './label-shapes.js';
import { METRIC_TYPE_NAMES, METRIC_TYPE_NUMBERS } from './enums.js';
import { readHistogram, writeHistogram } from './histogram.js';
import { readSample, writeSample } from './v1.js';

// Field tags of io.prometheus.write.v2 (proto/io/prometheus/write/v2/types.proto).
const TAG_SYMBOLS = 0x22;
const TAG_TIMESERIES = 0x2a;
const TAG_LABELS_REFS = 0x0a;
const TAG_SAMPLES = 0x12;
const TAG_HISTOGRAMS = 0x1a;
const TAG_EXEMPLARS = 0x22;
const TAG_METADATA = 0x2a;

/** Suffixes a series name may add to its metric family name (classic histograms, summaries, counters). */
const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

/** A symbol's index in the request being written; valid while `epoch` equals the table's epoch. */
interface SymbolSlot {
  index: number;
  epoch: number;
}

/** Slots persist across calls (the same strings come back at every flush); bounded, reset when full. */
let slots = new Map<string, SymbolSlot>();
const MAX_SLOTS = 1 << 17;
let tableEpoch = 0;

/** Per label name: whether its values are looked up in the persistent slots or kept for this request only. */
let probes = new Map<string, CacheProbe>();
const probesAt: CacheProbe[] = [];
/** The probes' clock: label sets written. */
let labelSetsWritten = 0;
const MAX_PROBES = 4096;

function probeFor(name: string, at: number): CacheProbe {
  const seen = probesAt[at];
  if (seen !== undefined && seen.name === name) return seen;
  let probe = probes.get(name);
  if (probe === undefined) {
    if (probes.size >= MAX_PROBES) probes = new Map();
    probe = new CacheProbe(name, labelSetsWritten);
    probes.set(name, probe);
  }
  if (at < 64) probesAt[at] = probe;
  return probe;
}

/** Test hook: the symbol cache decision of one label name now. */
export function symbolValueMode(name: string): 'bypass' | 'cached' {
  const probe = probes.get(name);
  return probe !== undefined && probe.skipping ? 'bypass' : 'cached';
}

/** Test hook: forgets every persistent symbol slot and every name decision. */
export function resetSymbolCache(): void {
  slots = new Map();
  probes = new Map();
  probesAt.length = 0;
}

/**
 * Builds the symbols table as series are written; index 0 is always "". Strings are found through the
 * persistent slots (one Map lookup). A value missing there whose name skips them (see CacheProbe) goes to a
 * Map of this request only; once that exists, strings first used in this request through the slots are
 * looked up there too, so the table stays de-duplicated whichever path saw a string first.
 */
class SymbolTable {
  readonly symbols: string[] = [''];
  private readonly epoch = ++tableEpoch;
  private local: Map<string, number> | undefined;

  ref(value: string): number {
    if (value === '') return 0;
    const slot = slots.get(value);
    return slot === undefined ? this.addSlot(value) : this.slotIndex(slot, value);
  }

  /** A label value's symbol: found in the persistent slots, else added to them unless its name skips them. */
  valueRef(name: string, value: string, at: number): number {
    if (value === '') return 0;
    const slot = slots.get(value);
    if (slot !== undefined) return this.slotIndex(slot, value);
    return probeFor(name, at).miss(labelSetsWritten) ? this.localRef(value) : this.addSlot(value);
  }

  private slotIndex(slot: SymbolSlot, value: string): number {
    if (slot.epoch !== this.epoch) {
      slot.epoch = this.epoch;
      slot.index = this.local === undefined ? this.push(value) : this.localRef(value);
    }
    return slot.index;
  }

  private addSlot(value: string): number {
    if (slots.size >= MAX_SLOTS) slots = new Map();
    const slot = { index: -1, epoch: -1 };
    slots.set(value, slot);
    return this.slotIndex(slot, value);
  }

  private push(value: string): number {
    this.symbols.push(value);
    return this.symbols.length - 1;
  }

  /** A symbol found or added through the request's own Map, without touching the persistent slots. */
  private localRef(value: string): number {
    const local = (this.local ??= new Map());
    let index = local.get(value);
    if (index === undefined) {
      index = this.push(value);
      local.set(value, index);
    }
    return index;
  }
}

function writeLabelRefs(w: ProtoWriter, table: SymbolTable, labels: Labels, tag: number): void {
  if (labels === null || typeof labels !== 'object') sortedNames(labels); // throws the shape error
  labelSetsWritten++;
  w.uint32(tag);
  const at = w.fork(1);
  const start = w.pos;
  // for-in walks the enum cache without allocating; label sets usually arrive sorted.
  let prev = '';
  let i = 0;
  let sorted = true;
  for (const name in labels) {
    if (i !== 0 && name <= prev) {
      sorted = false;
      break;
    }
    prev = name;
    const value: unknown = labels[name];
    if (typeof value !== 'string') throw invalidLabelValue(name, value);
    w.uint32(table.ref(name));
    w.uint32(table.valueRef(name, value, i++));
  }
  if (!sorted) {
    w.pos = start;
    const names = sortedNames(labels);
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      const value: unknown = labels[name];
      if (typeof value !== 'string') throw invalidLabelValue(name, value);
      w.uint32(table.ref(name));
      w.uint32(table.valueRef(name, value, k));
    }
  }
  if (w.pos === start) {
    // No labels: drop the empty field altogether.
    w.pos = at - 1;
    return;
  }
  w.join(at, 1);
}

function metadataFor(labels: Labels, byFamily: Map<string, MetricMetadata>): MetricMetadata | undefined {
  if (byFamily.size === 0) return undefined;
  const name = labels['__name__'];
  if (name === undefined) return undefined;
  const own = byFamily.get(name);
  if (own) return own;
  for (const suffix of FAMILY_SUFFIXES) {
    if (name.endsWith(suffix)) {
      const family = byFamily.get(name.slice(0, -suffix.length));
      if (family) return family;
    }
  }
  return undefined;
}

function writeSeries(w: ProtoWriter, table: SymbolTable, series: TimeSeries, metadata: MetricMetadata | undefined): void {
  checkSeries(series);
  writeLabelRefs(w, table, series.labels, TAG_LABELS_REFS);
  for (const s of series.samples) {
    w.uint32(TAG_SAMPLES);
    const at = w.fork(1);
    writeSample(w, s, true);
    w.join(at, 1);
  }
  if (series.histograms) {
    for (const h of series.histograms) {
      w.uint32(TAG_HISTOGRAMS);
      const at = w.fork(1);
      writeHistogram(w, h, true);
      w.join(at, 1);
    }
  }
  if (series.exemplars) {
    for (const e of series.exemplars) {
      w.uint32(TAG_EXEMPLARS);
      const at = w.fork(1);
      writeLabelRefs(w, table, e.labels, 0x0a);
      if (e.value !== 0 || 1 / e.value < 0) {
        w.uint32(0x11);
        w.double(e.value);
      }
      if (e.timestamp !== undefined && e.timestamp !== 0) {
        if (!Number.isInteger(e.timestamp)) throw invalidTimestamp(e.timestamp);
        w.uint32(0x18);
        w.int64(e.timestamp);
      }
      w.join(at, 1);
    }
  }
  if (metadata) {
    const type = METRIC_TYPE_NUMBERS[metadata.type];
    if (type === undefined) throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `unknown metric type ${JSON.stringify(metadata.type)}`);
    w.uint32(TAG_METADATA);
    const at = w.fork(1);
    if (type !== 0) {
      w.uint32(0x08);
      w.uint32(type);
    }
    const help = metadata.help ? table.ref(metadata.help) : 0;
    if (help !== 0) {
      w.uint32(0x18);
      w.uint32(help);
    }
    const unit = metadata.unit ? table.ref(metadata.unit) : 0;
    if (unit !== 0) {
      w.uint32(0x20);
      w.uint32(unit);
    }
    w.join(at, 1);
  }
}

const seriesScratch = new ScratchWriter();
const requestScratch = new ScratchWriter();

/** Writes the request into `out` from position 0: symbols first, then the series written while collecting them. */
function writeRequestV2(out: ProtoWriter, req: WriteRequest): void {
  if (!req || !Array.isArray(req.timeseries)) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'a WriteRequest needs a timeseries array');
  }
  const table = new SymbolTable();
  const byFamily = new Map<string, MetricMetadata>();
  for (const m of req.metadata ?? []) byFamily.set(m.metricFamilyName, m);
  // Series are written first (that is what discovers the symbols), then placed after the symbols.
  seriesScratch.use((series) => {
    series.pos = 0;
    for (const s of req.timeseries) {
      series.uint32(TAG_TIMESERIES);
      const at = series.fork(2);
      writeSeries(series, table, s, s !== null && typeof s === 'object' ? metadataFor(s.labels, byFamily) : undefined);
      series.join(at, 2);
    }
    out.pos = 0;
    for (const sym of table.symbols) {
      out.uint32(TAG_SYMBOLS);
      out.string(sym);
    }
    out.ensure(series.pos);
    out.buf.set(series.buf.subarray(0, series.pos), out.pos);
    out.pos += series.pos;
  });
}

/**
 * Encodes a Remote Write 2.0 `io.prometheus.write.v2.Request` (uncompressed). The symbols table is built
 * from the label sets (index 0 = ""); `req.metadata` is attached to the series of its metric family
 * (`__name__` or `__name__` minus `_bucket`/`_sum`/`_count`/`_total`/`_created`/`_info`), since 2.0 has no
 * request-level metadata.
 */
export function encodeWriteRequestV2(req: WriteRequest): Uint8Array {
  return requestScratch.use((w) => {
    writeRequestV2(w, req);
    return w.finish();
  });
}

/** `compress(encodeWriteRequestV2(req))` in one step, the same bytes, without allocating the uncompressed body. */
export function encodeWriteRequestV2Snappy(req: WriteRequest): Uint8Array {
  return requestScratch.use((w) => {
    writeRequestV2(w, req);
    return compressRange(w.buf, 0, w.pos);
  });
}

/** `decodeWriteRequestV2(decompress(body, opts))` in one step, decompressing into a reused scratch buffer. */
export function decodeWriteRequestV2Snappy(body: Uint8Array, opts?: DecompressOptions): WriteRequest {
  return decompressToScratch(body, opts, decodeWriteRequestV2);
}

function readRefs(r: ProtoReader, wire: number, out: number[], tagAt: number, limit: number): void {
  if (wire === WIRE_LEN) {
    const end = r.delimited(limit);
    while (r.pos < end) out.push(r.uint32());
    r.expectEnd(end, 'labels_refs');
  } else if (wire === WIRE_VARINT) {
    out.push(r.uint32());
  } else {
    throw r.wireType('labels_refs', wire, tagAt);
  }
}

const refNames: string[] = [];
const refValues: string[] = [];

function resolveLabels(refs: number[], symbols: string[], offset: number): Labels {
  if (refs.length % 2 !== 0) {
    throw new CodecError('PROM_RELAY_CODEC_SYMBOL_REF', `labels_refs has an odd length ${refs.length} at byte ${offset}`, { offset });
  }
  const count = refs.length / 2;
  for (let i = 0; i < count; i++) {
    const name = symbols[refs[2 * i]!];
    const value = symbols[refs[2 * i + 1]!];
    if (name === undefined || value === undefined) {
      const bad = name === undefined ? refs[2 * i]! : refs[2 * i + 1]!;
      throw new CodecError(
        'PROM_RELAY_CODEC_SYMBOL_REF',
        `symbol reference ${bad} outside the table of ${symbols.length} symbols at byte ${offset}`,
        { offset },
      );
    }
    refNames[i] = name;
    refValues[i] = value;
  }
  return buildLabels(refNames, refValues, count, offset);
}

function symbolAt(symbols: string[], ref: number, offset: number): string {
  const s = symbols[ref];
  if (s === undefined) {
    throw new CodecError('PROM_RELAY_CODEC_SYMBOL_REF', `symbol reference ${ref} outside the table of ${symbols.length} symbols`, { offset });
  }
  return s;
}

function readExemplar(r: ProtoReader, end: number, symbols: string[], at: number): Exemplar {
  const refs: number[] = [];
  let value = 0;
  let timestamp: number | undefined;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) readRefs(r, tag & 7, refs, tagAt, end);
    else if (tag === 0x11) value = r.double();
    else if (tag === 0x18) timestamp = r.int64();
    else if (field === 2 || field === 3) throw r.wireType(`Exemplar.${field}`, tag & 7, tagAt);
    else r.skip(tag & 7, tagAt);
  }
  r.expectEnd(end, 'Exemplar');
  const labels = resolveLabels(refs, symbols, at);
  return timestamp === undefined ? { labels, value } : { labels, value, timestamp };
}

interface SeriesMetadata {
  type: MetricType;
  help: string;
  unit: string;
}

function readMetadata(r: ProtoReader, end: number, symbols: string[]): SeriesMetadata {
  const m: SeriesMetadata = { type: 'unknown', help: '', unit: '' };
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    if (tag === 0x08) m.type = METRIC_TYPE_NAMES[r.uint32()] ?? 'unknown';
    else if (tag === 0x18) m.help = symbolAt(symbols, r.uint32(), tagAt);
    else if (tag === 0x20) m.unit = symbolAt(symbols, r.uint32(), tagAt);
    else if (tag >>> 3 === 1 || tag >>> 3 === 3 || tag >>> 3 === 4) throw r.wireType(`Metadata.${tag >>> 3}`, tag & 7, tagAt);
    else r.skip(tag & 7, tagAt);
  }
  r.expectEnd(end, 'Metadata');
  return m;
}

function readSeries(r: ProtoReader, end: number, symbols: string[], metadata: Map<string, MetricMetadata>): TimeSeries {
  const start = r.pos;
  const refs: number[] = [];
  const samples: Sample[] = [];
  let exemplars: Exemplar[] | undefined;
  let histograms: Histogram[] | undefined;
  let meta: SeriesMetadata | undefined;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    switch (tag) {
      case TAG_SAMPLES:
        samples.push(readSample(r, r.delimited(end), true));
        break;
      case TAG_HISTOGRAMS:
        (histograms ??= []).push(readHistogram(r, r.delimited(end), true));
        break;
      case TAG_EXEMPLARS:
        (exemplars ??= []).push(readExemplar(r, r.delimited(end), symbols, tagAt));
        break;
      case TAG_METADATA:
        meta = readMetadata(r, r.delimited(end), symbols);
        break;
      default: {
        const field = tag >>> 3;
        if (field === 1) readRefs(r, tag & 7, refs, tagAt, end);
        else if (field >= 2 && field <= 5) throw r.wireType(`TimeSeries.${field}`, tag & 7, tagAt);
        // Field 6 (reserved; created_timestamp of the experimental drafts) and unknown fields are skipped.
        else r.skip(tag & 7, tagAt);
      }
    }
  }
  r.expectEnd(end, 'TimeSeries');
  const labels = resolveLabels(refs, symbols, start);
  if (meta && (meta.type !== 'unknown' || meta.help !== '' || meta.unit !== '')) {
    const family = familyName(labels['__name__'] ?? '', meta.type);
    if (!metadata.has(family)) {
      const m: MetricMetadata = { type: meta.type, metricFamilyName: family };
      if (meta.help !== '') m.help = meta.help;
      if (meta.unit !== '') m.unit = meta.unit;
      metadata.set(family, m);
    }
  }
  const series: TimeSeries = { labels, samples };
  if (exemplars) series.exemplars = exemplars;
  if (histograms) series.histograms = histograms;
  return series;
}

/** The metric family of a series name, given its type (classic histogram and summary series carry suffixes). */
function familyName(name: string, type: MetricType): string {
  if (type === 'histogram' || type === 'gaugehistogram' || type === 'summary') {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
    }
  }
  return name;
}

/**
 * Decodes a Remote Write 2.0 `io.prometheus.write.v2.Request` (uncompressed); label references are resolved
 * back to plain Labels and per-series metadata is collected into `metadata`, one entry per metric family.
 */
export function decodeWriteRequestV2(body: Uint8Array): WriteRequest {
  if (!(body instanceof Uint8Array)) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'decodeWriteRequestV2 needs a Uint8Array body');
  }
  const r = new ProtoReader(body);
  const end = r.end;
  // Fields may come in any order: collect symbols first, remember where series are.
  const symbols: string[] = [];
  const seriesAt: number[] = [];
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    if (tag === TAG_SYMBOLS) {
      symbols.push(r.string(end));
    } else if (tag === TAG_TIMESERIES) {
      const seriesEnd = r.delimited(end);
      seriesAt.push(r.pos, seriesEnd);
      r.pos = seriesEnd;
    } else {
      const field = tag >>> 3;
      if (field === 4 || field === 5) throw r.wireType(`Request.${field}`, tag & 7, tagAt);
      r.skip(tag & 7, tagAt);
    }
  }
  const metadata = new Map<string, MetricMetadata>();
  const timeseries: TimeSeries[] = [];
  for (let i = 0; i < seriesAt.length; i += 2) {
    r.pos = seriesAt[i]!;
    timeseries.push(readSeries(r, seriesAt[i + 1]!, symbols, metadata));
  }
  return metadata.size > 0 ? { timeseries, metadata: [...metadata.values()] } : { timeseries };
}
