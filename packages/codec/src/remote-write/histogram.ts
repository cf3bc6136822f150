import { CodecError } from '../errors.js';
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../protobuf/reader.js';
import type { ProtoWriter } from '../protobuf/writer.js';
import type { BucketSpan, Histogram } from '../types.js';
import { invalidTimestamp } from './common.js';
import { RESET_HINT_NAMES, RESET_HINT_NUMBERS } from './enums.js';

// Histogram and BucketSpan have the same field numbers in RW 1.0 and 2.0; both have custom_values = 16 (not read
// here yet: skipped), and 2.0 adds start_timestamp = 17, written and read only with `v2`.

/** io.prometheus.write.v2.Histogram.start_timestamp: field 17, varint (tag 136, two bytes on the wire). */
const TAG_START_TIMESTAMP_V2 = (17 << 3) | WIRE_VARINT;

function writeSpans(w: ProtoWriter, tag: number, spans: BucketSpan[]): void {
  for (const span of spans) {
    w.uint32(tag);
    const at = w.fork(1);
    if (span.offset !== 0) {
      w.uint32(0x08);
      w.sint64(span.offset);
    }
    if (span.length !== 0) {
      w.uint32(0x10);
      w.uint32(span.length);
    }
    w.join(at, 1);
  }
}

function writePackedSint(w: ProtoWriter, tag: number, values: number[]): void {
  if (values.length === 0) return;
  w.uint32(tag);
  const at = w.fork(1);
  for (const v of values) w.sint64(v);
  w.join(at, 1);
}

function writePackedDouble(w: ProtoWriter, tag: number, values: number[]): void {
  if (values.length === 0) return;
  w.uint32(tag);
  w.uint32(values.length * 8);
  for (const v of values) w.double(v);
}

/** Writes the body of a Histogram message (without its tag and length); `v2` adds the start_timestamp when set. */
export function writeHistogram(w: ProtoWriter, h: Histogram, v2 = false): void {
  const hint = RESET_HINT_NUMBERS[h.resetHint];
  if (hint === undefined) {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `unknown histogram resetHint ${JSON.stringify(h.resetHint)}`);
  }
  // The count oneofs are always written: their field number is what tells integer from float histograms.
  if (h.isFloat) {
    w.uint32(0x11);
    w.double(h.count);
  } else {
    w.uint32(0x08);
    w.int64(h.count);
  }
  if (h.sum !== 0) {
    w.uint32(0x19);
    w.double(h.sum);
  }
  if (h.schema !== 0) {
    w.uint32(0x20);
    w.sint64(h.schema);
  }
  if (h.zeroThreshold !== 0) {
    w.uint32(0x29);
    w.double(h.zeroThreshold);
  }
  if (h.isFloat) {
    w.uint32(0x39);
    w.double(h.zeroCount);
  } else {
    w.uint32(0x30);
    w.int64(h.zeroCount);
  }
  writeSpans(w, 0x42, h.negativeSpans);
  writePackedSint(w, 0x4a, h.negativeDeltas);
  writePackedDouble(w, 0x52, h.negativeCounts);
  writeSpans(w, 0x5a, h.positiveSpans);
  writePackedSint(w, 0x62, h.positiveDeltas);
  writePackedDouble(w, 0x6a, h.positiveCounts);
  if (hint !== 0) {
    w.uint32(0x70);
    w.uint32(hint);
  }
  if (h.timestamp !== 0) {
    w.uint32(0x78);
    w.int64(h.timestamp);
  }
  if (v2) {
    const start = h.startTimestamp;
    if (start !== undefined && start !== 0) {
      if (!Number.isInteger(start)) throw invalidTimestamp(start);
      w.uint32(TAG_START_TIMESTAMP_V2);
      w.int64(start);
    }
  }
}

function readSpan(r: ProtoReader, end: number): BucketSpan {
  const span: BucketSpan = { offset: 0, length: 0 };
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    switch (tag) {
      case 0x08:
        span.offset = r.sint64();
        break;
      case 0x10:
        span.length = r.uint32();
        break;
      default:
        if (tag >>> 3 === 1 || tag >>> 3 === 2) throw r.wireType(`BucketSpan.${tag >>> 3}`, tag & 7, tagAt);
        r.skip(tag & 7, tagAt);
    }
  }
  r.expectEnd(end, 'BucketSpan');
  return span;
}

/** Reads packed or unpacked repeated sint64 values. */
function readSints(r: ProtoReader, wire: number, out: number[], tagAt: number, field: string): void {
  if (wire === WIRE_LEN) {
    const end = r.delimited(r.end);
    while (r.pos < end) out.push(r.sint64());
    r.expectEnd(end, field);
  } else if (wire === WIRE_VARINT) {
    out.push(r.sint64());
  } else {
    throw r.wireType(field, wire, tagAt);
  }
}

/** Reads packed or unpacked repeated doubles. */
function readDoubles(r: ProtoReader, wire: number, out: number[], tagAt: number, field: string): void {
  if (wire === WIRE_LEN) {
    const end = r.delimited(r.end);
    if ((end - r.pos) % 8 !== 0) throw r.malformed(`packed ${field} length is not a multiple of 8`, tagAt);
    while (r.pos < end) out.push(r.double());
  } else if (wire === WIRE_FIXED64) {
    out.push(r.double());
  } else {
    throw r.wireType(field, wire, tagAt);
  }
}

/** Reads a Histogram message body ending at `end`; with `v2`, field 17 is the start_timestamp (skipped in 1.0). */
export function readHistogram(r: ProtoReader, end: number, v2 = false): Histogram {
  const h: Histogram = {
    count: 0,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: [],
    resetHint: 'unknown',
    timestamp: 0,
  };
  let start = 0;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.count_int', wire, tagAt);
        h.count = r.uint64().value;
        delete h.isFloat;
        break;
      case 2:
        if (wire !== WIRE_FIXED64) throw r.wireType('Histogram.count_float', wire, tagAt);
        h.count = r.double();
        h.isFloat = true;
        break;
      case 3:
        if (wire !== WIRE_FIXED64) throw r.wireType('Histogram.sum', wire, tagAt);
        h.sum = r.double();
        break;
      case 4:
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.schema', wire, tagAt);
        h.schema = r.sint64();
        break;
      case 5:
        if (wire !== WIRE_FIXED64) throw r.wireType('Histogram.zero_threshold', wire, tagAt);
        h.zeroThreshold = r.double();
        break;
      case 6:
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.zero_count_int', wire, tagAt);
        h.zeroCount = r.uint64().value;
        break;
      case 7:
        if (wire !== WIRE_FIXED64) throw r.wireType('Histogram.zero_count_float', wire, tagAt);
        h.zeroCount = r.double();
        break;
      case 8:
      case 11: {
        if (wire !== WIRE_LEN) throw r.wireType('Histogram spans', wire, tagAt);
        const spanEnd = r.delimited(end);
        (field === 8 ? h.negativeSpans : h.positiveSpans).push(readSpan(r, spanEnd));
        break;
      }
      case 9:
        readSints(r, wire, h.negativeDeltas, tagAt, 'Histogram.negative_deltas');
        break;
      case 10:
        readDoubles(r, wire, h.negativeCounts, tagAt, 'Histogram.negative_counts');
        break;
      case 12:
        readSints(r, wire, h.positiveDeltas, tagAt, 'Histogram.positive_deltas');
        break;
      case 13:
        readDoubles(r, wire, h.positiveCounts, tagAt, 'Histogram.positive_counts');
        break;
      case 14: {
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.reset_hint', wire, tagAt);
        h.resetHint = RESET_HINT_NAMES[r.uint32()] ?? 'unknown';
        break;
      }
      case 15:
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.timestamp', wire, tagAt);
        h.timestamp = r.int64();
        break;
      case 17:
        if (!v2) {
          r.skip(wire, tagAt);
          break;
        }
        if (wire !== WIRE_VARINT) throw r.wireType('Histogram.start_timestamp', wire, tagAt);
        start = r.int64();
        break;
      default:
        r.skip(wire, tagAt);
    }
  }
  r.expectEnd(end, 'Histogram');
  if (start !== 0) h.startTimestamp = start;
  return h;
}
