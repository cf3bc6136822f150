// kafkajs 2.2.4 encodes a produce request through an Encoder per record, per header, per varint (each a Buffer.alloc
// and a copy into its parent, three to five times over), and checksums the batch byte by byte: ~40 us of the HTTP
// ingest's ~200 us of CPU per 100-sample push (bench/peers-http.ts profile). This writes the same bytes (a test
// compares them with kafkajs's own encoder) into one buffer sized up front, with a slicing-by-8 CRC32C.
// It takes over only what it writes identically: produce v3 to v7 (what kafkajs speaks to Kafka 0.11 and later),
// uncompressed batches, messages without their own timestamps and with string or Buffer keys, values and header
// values. Any other request is kafkajs's, unchanged. Installed once per process (connectKafka).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface Message {
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown> | undefined;
  timestamp?: unknown;
}

interface PartitionData {
  partition: number;
  firstSequence?: number;
  messages: Message[];
}

export interface ProduceArgs {
  acks: number;
  timeout: number;
  compression?: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  topicData: { topic: string; partitions: PartitionData[] }[];
}

interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}

interface EncoderLike {
  buf: Buffer;
  offset: number;
}

interface ProduceProtocol {
  versions: string[];
  protocol: (o: { version: number }) => (args: ProduceArgs) => { request: { encode: () => Promise<EncoderLike> } };
}

const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): LongLike; fromInt(v: number): LongLike };
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };

/** CRC32C (Castagnoli), slicing by 8. */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const t = CRC_TABLES;
  let crc = ~0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = (crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) | 0;
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

function sizeOfUVarInt(v: number): number {
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

const zigzag = (v: number) => (v << 1) ^ (v >> 31);
const sizeOfVarInt = (v: number) => sizeOfUVarInt(zigzag(v));

/** Byte length of a key, value or header value as kafkajs writes it (null and undefined: -1, no bytes). */
function bytesLength(v: unknown): number {
  if (v == null) return -1;
  return Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v as string, 'utf8');
}

/** What a message's headers become: kafkajs writes one header per value of an array. */
type FlatHeaders = (string | Buffer)[];

/** Whether kafkajs would encode this message the way this module does (else the whole request is kafkajs's). */
function plain(m: Message): boolean {
  if (m.timestamp != null) return false;
  const okBytes = (v: unknown) => v == null || typeof v === 'string' || Buffer.isBuffer(v);
  return okBytes(m.key) && okBytes(m.value);
}

function flatHeaders(headers: Record<string, unknown> | undefined): FlatHeaders | undefined {
  const out: FlatHeaders = [];
  if (headers == null) return out;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v !== 'string' && !Buffer.isBuffer(v)) return undefined;
        out.push(key, v);
      }
    } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
      out.push(key, value);
    } else {
      return undefined;
    }
  }
  return out;
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  int8(v: number): void {
    this.buf[this.offset++] = v & 0xff;
  }
  int16(v: number): void {
    this.buf.writeInt16BE(v, this.offset);
    this.offset += 2;
  }
  int32(v: number): void {
    this.buf.writeInt32BE(v, this.offset);
    this.offset += 4;
  }
  int64(v: unknown): void {
    const l = Long.fromValue(v);
    this.buf.writeInt32BE(l.getHighBits(), this.offset);
    this.buf.writeInt32BE(l.getLowBits(), this.offset + 4);
    this.offset += 8;
  }
  uvarint(v: number): void {
    const buf = this.buf;
    while ((v & 0xffffff80) !== 0) {
      buf[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.offset++] = v & 0x7f;
  }
  varint(v: number): void {
    this.uvarint(zigzag(v));
  }
  /** a string with an int16 length (null: -1) */
  string(s: string | null | undefined): void {
    if (s == null) return this.int16(-1);
    const n = Buffer.byteLength(s, 'utf8');
    this.int16(n);
    this.offset += this.buf.write(s, this.offset, n, 'utf8');
  }
  /** bytes with a varint length, `length` as bytesLength gave it */
  varBytes(v: unknown, length: number): void {
    this.varint(length);
    if (length <= 0) return;
    if (Buffer.isBuffer(v)) this.offset += v.copy(this.buf, this.offset);
    else this.offset += this.buf.write(v as string, this.offset, length, 'utf8');
  }
}

interface RecordPlan {
  keyLen: number;
  valueLen: number;
  headers: FlatHeaders;
  headerLens: number[];
  /** the headers' bytes (count first) when they are a shared block (sharedHeaders), else undefined */
  block: Buffer | undefined;
  bodySize: number;
}

const NO_HEADERS: FlatHeaders = [];
const NO_LENGTHS: number[] = [];

/**
 * The record bytes of a frozen headers object of strings (count, then each name and value), written once: the HTTP
 * ingest's messages of one group share one such object (ingest/pushgateway.ts), so its records copy the block instead
 * of encoding a dozen strings each. Undefined for any other headers (encoded per record, as before).
 */
const headerBlocks = new WeakMap<object, Buffer>();

function sharedHeaders(headers: Record<string, unknown> | undefined): Buffer | undefined {
  if (headers == null || !Object.isFrozen(headers)) return undefined;
  let block = headerBlocks.get(headers);
  if (block !== undefined) return block;
  // Buffers and arrays can change under a frozen object: only an object of strings is encoded ahead.
  for (const name in headers) if (typeof headers[name] !== 'string') return undefined;
  const flat = flatHeaders(headers);
  if (flat === undefined) return undefined;
  let size = sizeOfVarInt(flat.length / 2);
  for (const v of flat) size += sizeOfVarInt(bytesLength(v)) + bytesLength(v);
  const w = new Writer(Buffer.alloc(size));
  w.varint(flat.length / 2);
  for (const v of flat) w.varBytes(v, bytesLength(v));
  block = w.buf;
  headerBlocks.set(headers, block);
  return block;
}

/** Sizes of one record (kafkajs Record v0): attributes, timestamp delta 0, offset delta, key, value, headers. */
function planRecord(m: Message, offsetDelta: number): RecordPlan | undefined {
  const keyLen = bytesLength(m.key);
  const valueLen = bytesLength(m.value);
  let size = 1 + 1 + sizeOfVarInt(offsetDelta);
  size += sizeOfVarInt(keyLen) + Math.max(keyLen, 0);
  size += sizeOfVarInt(valueLen) + Math.max(valueLen, 0);
  const block = sharedHeaders(m.headers);
  if (block !== undefined) return { keyLen, valueLen, headers: NO_HEADERS, headerLens: NO_LENGTHS, block, bodySize: size + block.length };
  const headers = flatHeaders(m.headers);
  if (headers === undefined) return undefined;
  const headerLens: number[] = new Array(headers.length);
  size += sizeOfVarInt(headers.length / 2);
  for (let h = 0; h < headers.length; h++) {
    const n = bytesLength(headers[h]);
    headerLens[h] = n;
    size += sizeOfVarInt(n) + n;
  }
  return { keyLen, valueLen, headers, headerLens, block: undefined, bodySize: size };
}

/**
 * The produce request payload (what kafkajs's `encode()` returns, as a kafkajs Encoder), or undefined when kafkajs
 * must encode it itself. `now` is kafkajs's `Date.now()` for the batches' timestamps.
 */
export function encodeProduce(args: ProduceArgs, now = Date.now()): EncoderLike | undefined {
  if ((args.compression ?? 0) !== 0) return undefined;
  const transactional = args.transactionalId != null;
  // Plan: every record's size, so the request is written once into one buffer.
  const topics: { topic: string; partitions: { data: PartitionData; records: RecordPlan[]; batchSize: number }[] }[] = [];
  let total = 2 + (transactional ? Buffer.byteLength(args.transactionalId!, 'utf8') : 0) + 2 + 4 + 4;
  for (const t of args.topicData) {
    const partitions = [];
    total += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
    for (const data of t.partitions) {
      const records: RecordPlan[] = [];
      // batch: leader epoch, magic, crc, attributes, last offset delta, 2 timestamps, producer id, epoch, sequence, count
      let batchSize = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
      for (let i = 0; i < data.messages.length; i++) {
        const m = data.messages[i]!;
        if (!plain(m)) return undefined;
        const r = planRecord(m, i);
        if (r === undefined) return undefined;
        records.push(r);
        batchSize += sizeOfVarInt(r.bodySize) + r.bodySize;
      }
      partitions.push({ data, records, batchSize });
      // partition, record set size, first offset, batch length, batch
      total += 4 + 4 + 8 + 4 + batchSize;
    }
    topics.push({ topic: t.topic, partitions });
  }
  const w = new Writer(Buffer.allocUnsafe(total));
  w.string(args.transactionalId ?? null);
  w.int16(args.acks);
  w.int32(args.timeout);
  w.int32(topics.length);
  const producerId = args.producerId ?? Long.fromInt(-1);
  for (const t of topics) {
    w.string(t.topic);
    w.int32(t.partitions.length);
    for (const { data, records, batchSize } of t.partitions) {
      w.int32(data.partition);
      w.int32(8 + 4 + batchSize);
      w.int64(0); // first offset
      w.int32(batchSize);
      w.int32(0); // partition leader epoch
      w.int8(2); // magic
      const crcAt = w.offset;
      w.offset += 4;
      w.int16(transactional ? 16 : 0); // attributes: no compression, create time
      w.int32(records.length - 1);
      w.int64(now);
      w.int64(now);
      w.int64(producerId);
      w.int16(args.producerEpoch ?? 0);
      w.int32(data.firstSequence ?? 0);
      w.int32(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const m = data.messages[i]!;
        w.varint(r.bodySize);
        w.int8(0); // attributes
        w.int8(0); // timestamp delta (varlong 0)
        w.varint(i);
        w.varBytes(m.key, r.keyLen);
        w.varBytes(m.value, r.valueLen);
        if (r.block !== undefined) {
          w.offset += r.block.copy(w.buf, w.offset);
          continue;
        }
        w.varint(r.headers.length / 2);
        for (let h = 0; h < r.headers.length; h += 2) {
          w.varBytes(r.headers[h], r.headerLens[h]!);
          w.varBytes(r.headers[h + 1], r.headerLens[h + 1]!);
        }
      }
      w.buf.writeUInt32BE(crc32c(w.buf, crcAt + 4, w.offset), crcAt);
    }
  }
  if (w.offset !== total) throw new Error(`produce encoder: wrote ${w.offset} bytes, planned ${total}`);
  // A kafkajs Encoder holding the bytes: the request framing copies `buffer` (buf.slice(0, offset)).
  const encoder = Object.create(Encoder.prototype) as EncoderLike;
  encoder.buf = w.buf;
  encoder.offset = w.offset;
  return encoder;
}

let installed = false;

/** Produce requests written here and left to kafkajs since installProduceEncoder (tests read it). */
export const produceEncoderCounts = { encoded: 0, kafkajs: 0 };

/** Routes kafkajs's produce requests v3 to v7 through encodeProduce (once per process; another kafkajs is left alone). */
export function installProduceEncoder(): void {
  if (installed) return;
  installed = true;
  let produce: ProduceProtocol;
  try {
    produce = require('kafkajs/src/protocol/requests/produce/index.js') as ProduceProtocol;
  } catch {
    return;
  }
  const original = produce.protocol;
  if (typeof original !== 'function') return;
  produce.protocol = ({ version }) => {
    const make = original({ version });
    if (version < 3 || version > 7) return make;
    return (args) => {
      const made = make(args);
      const kafkajsEncode = made.request.encode;
      made.request.encode = async () => {
        const ours = encodeProduce(args);
        if (ours === undefined) {
          produceEncoderCounts.kafkajs++;
          return kafkajsEncode();
        }
        produceEncoderCounts.encoded++;
        return ours;
      };
      return made;
    };
  };
}
