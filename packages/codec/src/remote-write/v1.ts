import { CodecError } from '../errors.js';
import { ProtoReader } from '../protobuf/reader.js';
import { ProtoWriter, ScratchWriter } from '../protobuf/writer.js';
import { compressRange, decompressToScratch } from '../snappy.js';
import type { DecompressOptions, Exemplar, Labels, MetricMetadata, Sample, TimeSeries, WriteRequest } from '../types.js';
import { checkSeries, invalidLabelValue, invalidTimestamp, invalidValue, sortedNames } from './common.js';
import { CacheProbe } from './cache-probe.js';
import { buildLabels } from './label-shapes.js';
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
/** io.prometheus.write.v2.Sample.start_timestamp (field 3, varint); RW 1.0's Sample ends at field 2. */
const TAG_START_TIMESTAMP_V2 = 0x18;
const TAG_EXEMPLAR_VALUE = 0x11;
const TAG_EXEMPLAR_TIMESTAMP = 0x18;

const scratch = new ScratchWriter();

/**
 * Encoded Label messages (tag, length, name, value) kept across calls in one byte arena, found by name then
 * value: the same series are written again at every flush, so most label pairs are copied as bytes
 * (four per step) instead of re-encoded. Bounded: the arena and index are reset when the arena is full.
 */
const ARENA_SIZE = 1 << 20;
const pairArena = new ProtoWriter(ARENA_SIZE);
/** A cached pair: arena offset * 1024 + length (a pair is at most 3 * 200 + 8 bytes); chained when values repeat under other names. */
interface PairRef {
  name: string;
  ref: number;
  next: PairRef | undefined;
}
/** value -> pairs with that value (one Map lookup per label; the name check is usually a pointer compare). */
let pairIndex = new Map<string, PairRef>();
/** Pairs longer than this (name and value together) are written directly, not cached. */
const MAX_CACHED_PAIR = 200;

/** Encodes a pair into the arena (resetting it when full) and indexes it; `head` is the chain for its value. */
function addPair(name: string, value: string, head: PairRef | undefined): PairRef {
  if (pairArena.pos + MAX_CACHED_PAIR * 3 + 16 > ARENA_SIZE) {
    pairIndex = new Map();
    pairArena.pos = 0;
    head = undefined;
  }
  const start = pairArena.pos;
  writeLabelPair(pairArena, name, value);
  const pair: PairRef = { name, ref: start * 1024 + (pairArena.pos - start), next: head };
  pairIndex.set(value, pair);
  return pair;
}

function writeLabelPair(w: ProtoWriter, name: string, value: string): void {
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

/** What a miss of one label name does: add the pair to the cache, or write it directly (see CacheProbe). */
interface NameState {
  name: string;
  /** Encoded name field (tag, length, bytes), written before the value when the cache is skipped. */
  nameField: Uint8Array;
  probe: CacheProbe;
}
/** Bounds the name table; hostile input cycling names resets it. */
const MAX_NAME_STATES = 4096;

let nameStates = new Map<string, NameState>();
/** The state used at each label position last time: series mostly share one name sequence, so one compare finds it. */
const statesAt: NameState[] = [];
/** The probes' clock: label sets written. */
let labelSetsWritten = 0;

/** Test hook: the cache decision of one name now (`bypass` or `cached`). */
export function labelPairMode(name: string): 'bypass' | 'cached' {
  const state = nameStates.get(name);
  return state !== undefined && state.probe.skipping ? 'bypass' : 'cached';
}

/** Test hook: forgets every cached pair and every name decision, as on a fresh start. */
export function resetLabelPairCache(): void {
  pairIndex = new Map();
  pairArena.pos = 0;
  nameStates = new Map();
  statesAt.length = 0;
}

function nameState(name: string, at: number): NameState {
  const seen = statesAt[at];
  if (seen !== undefined && seen.name === name) return seen;
  let state = nameStates.get(name);
  if (state === undefined) {
    if (nameStates.size >= MAX_NAME_STATES) nameStates = new Map();
    const field = new ProtoWriter(name.length * 3 + 6);
    if (name !== '') {
      field.uint32(TAG_NAME);
      field.string(name);
    }
    state = { name, nameField: field.finish(), probe: new CacheProbe(name, labelSetsWritten) };
    nameStates.set(name, state);
  }
  if (at < 64) statesAt[at] = state;
  return state;
}

/** Writes a Label message without the cache; the same bytes as writeLabelPair. */
function writeLabelDirect(w: ProtoWriter, state: NameState, value: string): void {
  w.uint32(TAG_LABELS);
  const at = w.fork(1);
  w.raw(state.nameField);
  if (value !== '') {
    w.uint32(TAG_VALUE_STR);
    w.string(value);
  }
  w.join(at, 1);
}

/** A miss: the pair is added to the cache, or written directly (undefined) when its name skips the cache. */
function missedPair(w: ProtoWriter, name: string, value: string, head: PairRef | undefined, at: number): PairRef | undefined {
  const state = nameState(name, at);
  if (state.probe.miss(labelSetsWritten)) {
    writeLabelDirect(w, state, value);
    return undefined;
  }
  return addPair(name, value, head);
}

function writeLabel(w: ProtoWriter, name: string, value: unknown, at: number): void {
  if (typeof value !== 'string') throw invalidLabelValue(name, value);
  if (value.length + name.length > MAX_CACHED_PAIR) {
    writeLabelPair(w, name, value);
    return;
  }
  // A hit (the usual case when series are re-sent) costs one Map lookup and a copy, nothing more.
  const head = pairIndex.get(value);
  let pair = head;
  while (pair !== undefined && pair.name !== name) pair = pair.next;
  if (pair === undefined) {
    pair = missedPair(w, name, value, head, at);
    if (pair === undefined) return;
  }
  const ref = pair.ref;
  w.copyView(pairArena.view, Math.floor(ref / 1024), ref & 0x3ff);
}

function writeLabels(w: ProtoWriter, labels: Labels): void {
  if (labels === null || typeof labels !== 'object') sortedNames(labels); // throws the shape error
  labelSetsWritten++;
  // for-in walks the object's enum cache without allocating; label sets usually arrive sorted.
  const start = w.pos;
  let prev = '';
  let i = 0;
  for (const name in labels) {
    if (i !== 0 && name <= prev) {
      w.pos = start;
      const names = sortedNames(labels);
      for (let k = 0; k < names.length; k++) writeLabel(w, names[k]!, labels[names[k]!], k);
      return;
    }
    prev = name;
    writeLabel(w, name, labels[name], i++);
  }
}

/**
 * Writes a Sample body: value (raw stale bits when flagged), then timestamp; with `v2`, also the RW 2.0
 * start_timestamp (field 3) when set. RW 1.0's Sample has no field 3, so a 1.0 body never carries it.
 */
export function writeSample(w: ProtoWriter, s: Sample, v2 = false): void {
  const ts = s.timestamp;
  if (!Number.isInteger(ts)) throw invalidTimestamp(ts);
  if (typeof s.value !== 'number') throw invalidValue(s.value);
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
  if (v2) {
    const start = s.startTimestamp;
    if (start !== undefined && start !== 0) {
      if (!Number.isInteger(start)) throw invalidTimestamp(start);
      w.uint32(TAG_START_TIMESTAMP_V2);
      w.int64(start);
    }
  }
}

function writeSeries(w: ProtoWriter, series: TimeSeries): void {
  checkSeries(series);
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

/** Writes the whole request into `w` from position 0. */
function writeRequest(w: ProtoWriter, req: WriteRequest): void {
  if (!req || !Array.isArray(req.timeseries)) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', 'a WriteRequest needs a timeseries array');
  }
  w.pos = 0;
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
}

/** Encodes a Remote Write 1.0 `prometheus.WriteRequest` (uncompressed protobuf); label names are written sorted. */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  return scratch.use((w) => {
    writeRequest(w, req);
    return w.finish();
  });
}

/**
 * `compress(encodeWriteRequest(req))` in one step, byte for byte the same body, without allocating the
 * uncompressed protobuf: it is written to a reused scratch buffer and compressed from there.
 */
export function encodeWriteRequestSnappy(req: WriteRequest): Uint8Array {
  return scratch.use((w) => {
    writeRequest(w, req);
    return compressRange(w.buf, 0, w.pos);
  });
}


/** Scratch arrays for the label pairs of the series being decoded (decoding is synchronous). */
const seriesNames: string[] = [];
const seriesValues: string[] = [];

/**
 * Decoded Label messages by their exact bytes: a direct-mapped cache of SLOTS entries, each holding up to
 * SLOT_BYTES bytes of the message and its decoded name and value. A repeated label pair (the common case)
 * costs one hash and one compare, four bytes per step, instead of decoding two strings.
 */
const SLOTS = 16384;
const SLOT_BYTES = 64;
const slotBytes = new Uint8Array(SLOTS * SLOT_BYTES);
const slotView = new DataView(slotBytes.buffer);
const slotLength = new Int32Array(SLOTS);
const slotNames: string[] = new Array<string>(SLOTS).fill('');
const slotValues: string[] = new Array<string>(SLOTS).fill('');

function readLabelPairCached(r: ProtoReader, end: number, names: string[], values: string[], i: number): void {
  const start = r.pos;
  const n = end - start;
  if (n > SLOT_BYTES) {
    readLabelPair(r, end, names, values, i);
    return;
  }
  const view = r.view;
  let hash = n;
  let k = 0;
  for (; k + 4 <= n; k += 4) hash = Math.imul(hash ^ view.getUint32(start + k, true), 0x9e3779b1);
  for (; k < n; k++) hash = Math.imul(hash ^ view.getUint8(start + k), 0x9e3779b1);
  const slot = (hash ^ (hash >>> 15)) & (SLOTS - 1);
  const base = slot * SLOT_BYTES;
  if (slotLength[slot] === n) {
    let same = true;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      if (slotView.getUint32(base + j, true) !== view.getUint32(start + j, true)) {
        same = false;
        break;
      }
    }
    if (same) {
      for (; j < n; j++) {
        if (slotBytes[base + j] !== view.getUint8(start + j)) {
          same = false;
          break;
        }
      }
    }
    if (same) {
      names[i] = slotNames[slot]!;
      values[i] = slotValues[slot]!;
      r.pos = end;
      return;
    }
  }
  readLabelPair(r, end, names, values, i);
  for (let j = 0; j < n; j++) slotBytes[base + j] = view.getUint8(start + j);
  slotLength[slot] = n;
  slotNames[slot] = names[i]!;
  slotValues[slot] = values[i]!;
}

/** Reads one Label message into names/values at index `i`. */
function readLabelPair(r: ProtoReader, end: number, names: string[], values: string[], i: number): void {
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
  names[i] = name;
  values[i] = value;
}

/** Reads a Sample body; with `v2`, field 3 is the start_timestamp (an unknown field in RW 1.0, skipped). */
export function readSample(r: ProtoReader, end: number, v2 = false): Sample {
  let value = 0;
  let timestamp = 0;
  let stale = false;
  let start = 0;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    if (tag === TAG_VALUE_DOUBLE) {
      value = r.double();
      stale = r.lastWasStale;
    } else if (tag === TAG_TIMESTAMP) {
      timestamp = r.int64();
    } else if (v2 && tag === TAG_START_TIMESTAMP_V2) {
      start = r.int64();
    } else {
      const field = tag >>> 3;
      if (field === 1 || field === 2) throw r.wireType(field === 1 ? 'Sample.value' : 'Sample.timestamp', tag & 7, at);
      if (v2 && field === 3) throw r.wireType('Sample.start_timestamp', tag & 7, at);
      r.skip(tag & 7, at);
    }
  }
  r.expectEnd(end, 'Sample');
  const sample: Sample = stale ? { value, timestamp, stale: true } : { value, timestamp };
  if (start !== 0) sample.startTimestamp = start;
  return sample;
}

function readExemplar(r: ProtoReader, end: number, offset: number): Exemplar {
  const names: string[] = [];
  const values: string[] = [];
  let value = 0;
  let timestamp: number | undefined;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    switch (tag) {
      case TAG_LABELS:
        readLabelPair(r, r.delimited(end), names, values, names.length);
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
  const labels = buildLabels(names, values, names.length, offset);
  return timestamp === undefined ? { labels, value } : { labels, value, timestamp };
}

function readSeries(r: ProtoReader, end: number): TimeSeries {
  const start = r.pos;
  let count = 0;
  const samples: Sample[] = [];
  let exemplars: Exemplar[] | undefined;
  let histograms: TimeSeries['histograms'];
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.tag();
    switch (tag) {
      case TAG_LABELS:
        readLabelPairCached(r, r.delimited(end), seriesNames, seriesValues, count++);
        break;
      case TAG_SAMPLES:
        samples.push(readSample(r, r.delimited(end)));
        break;
      case TAG_EXEMPLARS:
        (exemplars ??= []).push(readExemplar(r, r.delimited(end), at));
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
  const series: TimeSeries = { labels: buildLabels(seriesNames, seriesValues, count, start), samples };
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

/**
 * `decodeWriteRequest(decompress(body, opts))` in one step, without allocating the decompressed protobuf:
 * it is decompressed into a reused scratch buffer (decoded strings are copies, so nothing refers to it).
 */
export function decodeWriteRequestSnappy(body: Uint8Array, opts?: DecompressOptions): WriteRequest {
  return decompressToScratch(body, opts, decodeWriteRequest);
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

