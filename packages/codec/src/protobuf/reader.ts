import { Buffer } from 'node:buffer';
import { CodecError } from '../errors.js';
import { STALE_NAN_HI, STALE_NAN_LO } from '../stale.js';

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
const TWO_32 = 4294967296;

/** Strings up to this many bytes go through the cache; longer ones are rarely repeated label values. */
const MAX_CACHED_STRING = 64;
const STRING_CACHE_MASK = 4095;
const stringCache: Array<string | undefined> = new Array<string | undefined>(STRING_CACHE_MASK + 1).fill(undefined);

declare module 'node:buffer' {
  interface Buffer {
    /** Node's fast Latin-1 slice (public since Node 0.x, untyped in @types/node). */
    latin1Slice(start: number, end: number): string;
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/**
 * A bounds-checked protobuf reader: every read past the end, overlong varint or bad wire type throws
 * CodecError with the byte offset, so hostile input never reads garbage or loops.
 */
export class ProtoReader {
  readonly buf: Buffer;
  /** DataView over buf, for reading four bytes per step. */
  readonly view: DataView;
  pos = 0;
  readonly end: number;
  /** Set by double(): whether the last double read had the staleness marker's exact bits. */
  lastWasStale = false;

  constructor(body: Uint8Array) {
    this.buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.end = body.byteLength;
  }

  truncated(what: string): CodecError {
    return new CodecError('PROM_RELAY_CODEC_TRUNCATED', `body ends inside ${what} at byte ${this.pos}`, { offset: this.pos });
  }

  malformed(what: string, offset = this.pos): CodecError {
    return new CodecError('PROM_RELAY_CODEC_MALFORMED', `${what} at byte ${offset}`, { offset });
  }

  wireType(field: string, wire: number, offset: number): CodecError {
    return new CodecError('PROM_RELAY_CODEC_INVALID_WIRE_TYPE', `field ${field} has wire type ${wire} at byte ${offset}`, { offset });
  }

  /** Reads a varint and returns its low 32 bits, unsigned (tags, lengths, enums, uint32). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw this.truncated('a varint');
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw this.malformed('varint longer than 10 bytes');
  }

  /** Reads a varint as a 64-bit two's complement integer, returned as a JS number (exact below 2^53). */
  int64(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (pos >= end) throw this.truncated('a varint');
      const b = buf[pos++]!;
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    // Byte 5 straddles the two words.
    if (pos >= end) throw this.truncated('a varint');
    let b = buf[pos++]!;
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      let shift = 3;
      for (i = 5; ; i++) {
        if (i >= 10) throw this.malformed('varint longer than 10 bytes');
        if (pos >= end) throw this.truncated('a varint');
        b = buf[pos++]!;
        hi |= (b & 0x7f) << shift;
        shift += 7;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    lo >>>= 0;
    if (hi & 0x80000000) {
      // Negative: value = -(~x + 1).
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
      return -(hi * TWO_32 + lo);
    }
    return (hi >>> 0) * TWO_32 + lo;
  }

  /** Reads a zigzag varint (sint32/sint64) as a JS number. */
  sint64(): number {
    const start = this.pos;
    const b = start < this.end ? this.buf[start]! : 0x80;
    if (b < 0x80) {
      this.pos = start + 1;
      return (b >>> 1) ^ -(b & 1);
    }
    // Decode as unsigned 64-bit via int64 of the raw bits, then unzigzag on the magnitude.
    const raw = this.uint64();
    return raw.lo & 1 ? -(Math.floor(raw.value / 2) + 1) : Math.floor(raw.value / 2);
  }

  /** Reads a varint as an unsigned 64-bit number (count_int, zero_count_int). */
  uint64(): { value: number; lo: number } {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      if (i >= 10) throw this.malformed('varint longer than 10 bytes');
      if (pos >= end) throw this.truncated('a varint');
      const b = buf[pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if (b < 0x80) break;
    }
    this.pos = pos;
    lo >>>= 0;
    return { value: (hi >>> 0) * TWO_32 + lo, lo };
  }

  /** Reads a little-endian double; sets lastWasStale when its bits are the staleness marker. */
  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) throw this.truncated('a double');
    const buf = this.buf;
    this.pos = pos + 8;
    if (
      buf[pos] === (STALE_NAN_LO & 0xff) &&
      buf[pos + 7] === STALE_NAN_HI >>> 24 &&
      buf[pos + 6] === ((STALE_NAN_HI >>> 16) & 0xff) &&
      buf[pos + 1] === 0 && buf[pos + 2] === 0 && buf[pos + 3] === 0 && buf[pos + 4] === 0 && buf[pos + 5] === 0
    ) {
      this.lastWasStale = true;
      return NaN;
    }
    this.lastWasStale = false;
    if (bigEndianHost) {
      for (let i = 0; i < 8; i++) f64Bytes[7 - i] = buf[pos + i]!;
    } else {
      f64Bytes[0] = buf[pos]!;
      f64Bytes[1] = buf[pos + 1]!;
      f64Bytes[2] = buf[pos + 2]!;
      f64Bytes[3] = buf[pos + 3]!;
      f64Bytes[4] = buf[pos + 4]!;
      f64Bytes[5] = buf[pos + 5]!;
      f64Bytes[6] = buf[pos + 6]!;
      f64Bytes[7] = buf[pos + 7]!;
    }
    return f64[0]!;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes, checked against `limit`. */
  delimited(limit: number): number {
    const lenAt = this.pos;
    const len = this.uint32();
    if (len > limit - this.pos) {
      throw new CodecError(
        'PROM_RELAY_CODEC_TRUNCATED',
        `length ${len} at byte ${lenAt} runs past the end of its message (${limit - this.pos} bytes left)`,
        { offset: lenAt },
      );
    }
    return this.pos + len;
  }

  /** Reads a length-delimited UTF-8 string (invalid sequences become U+FFFD, as Go receivers keep the bytes). */
  string(limit: number): string {
    const end = this.delimited(limit);
    const start = this.pos;
    this.pos = end;
    const n = end - start;
    if (n === 0) return '';
    if (n > MAX_CACHED_STRING) return this.buf.toString('utf8', start, end);
    // Label names and most values repeat across series: a small direct-mapped cache returns the same
    // (flat, already internalized) string instead of building a new one per occurrence.
    const buf = this.buf;
    let hash = n;
    let ascii = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      ascii |= b;
      hash = (Math.imul(hash, 31) + b) | 0;
    }
    const slot = (hash ^ (hash >>> 13)) & STRING_CACHE_MASK;
    const cached = stringCache[slot];
    if (cached !== undefined && cached.length === n && ascii < 0x80) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (cached.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const value = ascii < 0x80 ? buf.latin1Slice(start, end) : buf.toString('utf8', start, end);
    if (ascii < 0x80) stringCache[slot] = value;
    return value;
  }

  /** Skips a field of an unknown number. */
  skip(wire: number, tagAt: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw this.truncated('a fixed64 field');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.delimited(this.end);
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw this.truncated('a fixed32 field');
        this.pos += 4;
        return;
      default:
        throw new CodecError('PROM_RELAY_CODEC_INVALID_WIRE_TYPE', `unsupported wire type ${wire} at byte ${tagAt}`, {
          offset: tagAt,
        });
    }
  }

  /** Reads a tag and rejects field number 0; returns the raw tag. */
  tag(): number {
    const at = this.pos;
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw this.malformed('field number 0', at);
    return tag;
  }

  /** Throws unless a nested message ended exactly at its declared end. */
  expectEnd(end: number, what: string): void {
    if (this.pos !== end) throw this.malformed(`${what} overruns its length`, end);
  }
}
