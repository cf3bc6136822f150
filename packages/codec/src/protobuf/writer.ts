import { Buffer } from 'node:buffer';
import { STALE_NAN_HI, STALE_NAN_LO } from '../stale.js';

const TWO_32 = 4294967296;

/** Bytes a varint of a non-negative 32-bit value takes. */
export function varintSize32(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes a varint of a value below 2^32 at a position already reserved. */
function writeVarintAt(buf: Uint8Array, pos: number, value: number): void {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos] = value;
}

/**
 * A forward-only protobuf writer into one growing buffer. Nested messages reserve a guessed number of
 * length bytes (fork) and are moved only when the guess was wrong (join), so nothing is measured twice.
 */
export class ProtoWriter {
  buf: Buffer;
  /** A DataView over buf, for copying four bytes per step. */
  view: DataView;
  pos = 0;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** A copy of the written bytes, owned by the caller. */
  finish(): Uint8Array {
    // allocUnsafe: every byte is overwritten by the copy, so zero-filling would be wasted work.
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** Writes a tag or any non-negative value below 2^32. */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** Writes an int64 or uint64 from a JS number (two's complement for negatives). */
  int64(value: number): void {
    if (value >= 0 && value < 0x80000000) {
      this.uint32(value);
      return;
    }
    let lo: number;
    let hi: number;
    if (value >= 0) {
      // ToUint32 is the value modulo 2^32, exact for integers below 2^53.
      lo = value >>> 0;
      hi = ((value - lo) / TWO_32) >>> 0;
    } else {
      const abs = -value;
      lo = abs >>> 0;
      hi = ((abs - lo) / TWO_32) >>> 0;
      // Two's complement of the 64-bit magnitude.
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    this.varint64(lo, hi);
  }

  /** Writes a sint64/sint32 (zigzag) from a JS number. */
  sint64(value: number): void {
    if (value >= -0x40000000 && value < 0x40000000) {
      this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
      return;
    }
    const neg = value < 0;
    const abs = neg ? -value : value;
    let lo = abs % TWO_32 >>> 0;
    let hi = Math.floor(abs / TWO_32) >>> 0;
    if (neg) {
      // zigzag(-n) = 2n - 1
      hi = ((hi << 1) | (lo >>> 31)) >>> 0;
      lo = (lo << 1) >>> 0;
      if (lo === 0) {
        lo = 0xffffffff;
        hi = (hi - 1) >>> 0;
      } else {
        lo = (lo - 1) >>> 0;
      }
    } else {
      hi = ((hi << 1) | (lo >>> 31)) >>> 0;
      lo = (lo << 1) >>> 0;
    }
    this.varint64(lo, hi);
  }

  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** Writes a little-endian double. */
  double(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Writes the exact bits of the staleness marker, which a JS NaN store may not preserve. */
  staleNaN(): void {
    this.fixed32Pair(STALE_NAN_LO, STALE_NAN_HI);
  }

  fixed32Pair(lo: number, hi: number): void {
    this.ensure(8);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = lo & 0xff;
    buf[pos + 1] = (lo >>> 8) & 0xff;
    buf[pos + 2] = (lo >>> 16) & 0xff;
    buf[pos + 3] = lo >>> 24;
    buf[pos + 4] = hi & 0xff;
    buf[pos + 5] = (hi >>> 8) & 0xff;
    buf[pos + 6] = (hi >>> 16) & 0xff;
    buf[pos + 7] = hi >>> 24;
    this.pos = pos + 8;
  }

  /** Writes a length-prefixed UTF-8 string; short ASCII strings are copied by hand, the rest by Buffer.write. */
  string(value: string): void {
    const n = value.length;
    this.ensure(n * 3 + 5);
    const buf = this.buf;
    const start = this.pos;
    let p = start + 1;
    let i = 0;
    if (n < 64) {
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
    }
    if (i < n) p = start + 1 + buf.write(value, start + 1, 'utf8');
    const len = p - start - 1;
    if (len < 0x80) {
      buf[start] = len;
      this.pos = p;
      return;
    }
    const size = varintSize32(len);
    buf.copyWithin(start + size, start + 1, p);
    writeVarintAt(buf, start, len);
    this.pos = start + size + len;
  }

  /** Copies pre-encoded bytes as they are; short runs by hand, which beats TypedArray.set for a few dozen bytes. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    const pos = this.pos;
    if (n < 48) {
      for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
    } else {
      buf.set(bytes, pos);
    }
    this.pos = pos + n;
  }

  /** Copies `len` bytes at `from` of a DataView, four at a time (much faster than a byte loop for short runs). */
  copyView(src: DataView, from: number, len: number): void {
    this.ensure(len);
    const view = this.view;
    const pos = this.pos;
    let i = 0;
    for (; i + 4 <= len; i += 4) view.setUint32(pos + i, src.getUint32(from + i, true), true);
    for (; i < len; i++) view.setUint8(pos + i, src.getUint8(from + i));
    this.pos = pos + len;
  }

  /** Writes pre-encoded bytes with a length prefix. */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Reserves `reserve` bytes for the length of a nested message and returns where they start. */
  fork(reserve: number): number {
    this.ensure(reserve);
    const at = this.pos;
    this.pos += reserve;
    return at;
  }

  /** Writes the nested message's length at `at`, moving its body if the reserved size was wrong. */
  join(at: number, reserve: number): void {
    const len = this.pos - at - reserve;
    const size = varintSize32(len);
    if (size !== reserve) {
      if (size > reserve) this.ensure(size - reserve);
      this.buf.copyWithin(at + size, at + reserve, this.pos);
      this.pos += size - reserve;
    }
    writeVarintAt(this.buf, at, len);
  }
}

/** Keeps one ProtoWriter for reuse across calls: encoding is synchronous, so one is enough; a huge one is let go. */
export class ScratchWriter {
  private spare: ProtoWriter | undefined;

  use<T>(fn: (w: ProtoWriter) => T): T {
    const w = this.spare ?? new ProtoWriter(64 * 1024);
    this.spare = undefined;
    try {
      return fn(w);
    } finally {
      // Do not pin a huge buffer after one huge request.
      if (w.buf.length <= 8 * 1024 * 1024) this.spare = w;
    }
  }
}
