/// <reference path="./snappyjs.d.ts" />
import { CodecError } from './errors.js';
import type { DecompressOptions } from './types.js';

/** Default largest decompressed body: 32 MiB, what Prometheus receivers accept. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 32 * 1024 * 1024;

/** Snappy block format (never framed), as remote write requires. Output is what snappyjs and Go's snappy decode. */
export function compress(raw: Uint8Array): Uint8Array {
  return compressRange(raw, 0, raw.length);
}

// The compressor follows the reference snappy algorithm (64 KiB fragments, a hash table of 4-byte
// sequences, skipping ahead faster while nothing matches). It differs from snappyjs in how it runs:
// integer-only hashing (Math.imul), one output scratch buffer reused across calls instead of a
// zero-filled worst-case allocation per call, and TypedArray copies for long literals.
const FRAGMENT_SIZE = 1 << 16;
const MAX_HASH_BITS = 14;
const hashTable = new Uint16Array(1 << MAX_HASH_BITS);
let scratchOut = new Uint8Array(0);

function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** Compresses raw[start, end) into a new Uint8Array; the input is not modified. */
export function compressRange(raw: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  const need = maxCompressedLength(n);
  if (scratchOut.length < need) scratchOut = new Uint8Array(Math.max(need, scratchOut.length * 2));
  const out = scratchOut;
  let op = 0;
  // Preamble: the uncompressed length as a varint.
  let len = n;
  while (len >= 0x80) {
    out[op++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  out[op++] = len;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let pos = start; pos < end; pos += FRAGMENT_SIZE) {
    op = compressFragment(raw, view, pos, Math.min(pos + FRAGMENT_SIZE, end), out, op);
  }
  const result = new Uint8Array(op);
  result.set(out.subarray(0, op));
  // Do not pin a huge scratch buffer after one huge body.
  if (scratchOut.length > 16 * 1024 * 1024) scratchOut = new Uint8Array(0);
  return result;
}

function emitLiteral(input: Uint8Array, from: number, len: number, out: Uint8Array, op: number): number {
  const n = len - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 0x10000) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  } else {
    out[op++] = 63 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = (n >>> 16) & 0xff;
    out[op++] = n >>> 24;
  }
  if (len < 32) {
    for (let i = 0; i < len; i++) out[op + i] = input[from + i]!;
  } else {
    out.set(input.subarray(from, from + len), op);
  }
  return op + len;
}

function emitCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  // Copies are at most 64 bytes; split so the last piece is at least 4 bytes.
  while (len >= 68) {
    out[op++] = 2 | (63 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    out[op++] = 2 | (59 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((len - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}

/** Compresses one fragment input[start, end) (at most 64 KiB, so offsets fit two bytes). */
function compressFragment(input: Uint8Array, view: DataView, start: number, end: number, out: Uint8Array, op: number): number {
  const size = end - start;
  let bits = 8;
  while (bits < MAX_HASH_BITS && 1 << bits < size) bits++;
  const shift = 32 - bits;
  hashTable.fill(0, 0, 1 << bits);
  let nextEmit = start;
  // The last 15 bytes are never starts of a match (room for the 4-byte loads).
  const ipLimit = end - 15;
  if (size >= 15) {
    let ip = start + 1;
    let nextHash = Math.imul(view.getUint32(ip, true), 0x1e35a7bd) >>> shift;
    outer: for (;;) {
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      for (;;) {
        ip = nextIp;
        const hash = nextHash;
        nextIp = ip + (skip >>> 5);
        skip++;
        if (nextIp > ipLimit) break outer;
        nextHash = Math.imul(view.getUint32(nextIp, true), 0x1e35a7bd) >>> shift;
        candidate = start + hashTable[hash]!;
        hashTable[hash] = ip - start;
        if (view.getUint32(ip, true) === view.getUint32(candidate, true)) break;
      }
      op = emitLiteral(input, nextEmit, ip - nextEmit, out, op);
      for (;;) {
        // Extend the match as far as it goes, four bytes per step while they fit.
        const base = ip;
        let matched = 4;
        while (ip + matched + 4 <= end && view.getUint32(ip + matched, true) === view.getUint32(candidate + matched, true)) matched += 4;
        while (ip + matched < end && input[ip + matched] === input[candidate + matched]) matched++;
        ip += matched;
        op = emitCopy(out, op, base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        const prevHash = Math.imul(view.getUint32(ip - 1, true), 0x1e35a7bd) >>> shift;
        hashTable[prevHash] = ip - 1 - start;
        const cur = view.getUint32(ip, true);
        const curHash = Math.imul(cur, 0x1e35a7bd) >>> shift;
        candidate = start + hashTable[curHash]!;
        hashTable[curHash] = ip - start;
        if (cur !== view.getUint32(candidate, true)) break;
      }
      ip++;
      nextHash = Math.imul(view.getUint32(ip, true), 0x1e35a7bd) >>> shift;
    }
  }
  if (nextEmit < end) op = emitLiteral(input, nextEmit, end - nextEmit, out, op);
  return op;
}

/** The decompressed length a snappy block declares in its varint preamble, checked before anything is allocated. */
export function decompressedLength(body: Uint8Array): number {
  let result = 0;
  let shift = 0;
  for (let pos = 0; pos < 5; pos++) {
    if (pos >= body.length) {
      throw new CodecError('PROM_RELAY_CODEC_SNAPPY', 'snappy body ends inside its length preamble', { offset: pos });
    }
    const b = body[pos]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (result > 0xffffffff) {
        throw new CodecError('PROM_RELAY_CODEC_SNAPPY', 'snappy length preamble exceeds 32 bits', { offset: 0 });
      }
      return result;
    }
    shift += 7;
  }
  throw new CodecError('PROM_RELAY_CODEC_SNAPPY', 'snappy length preamble longer than 5 bytes', { offset: 0 });
}

function preambleSize(body: Uint8Array): number {
  let n = 1;
  while (body[n - 1]! >= 0x80) n++;
  return n;
}

/**
 * Snappy block decompression with every copy bounds-checked (snappyjs silently writes short output
 * on corrupt input). The declared size is compared with maxSize before the output is allocated.
 */
export function decompress(body: Uint8Array, opts: DecompressOptions = {}): Uint8Array {
  const length = checkedLength(body, opts);
  const out = new Uint8Array(length);
  decompressInto(body, out, length);
  return out;
}

let scratchIn = new Uint8Array(0);
let scratchInBusy = false;
/** Bodies up to this size decompress into the reused scratch buffer; larger ones get their own. */
const MAX_SCRATCH_DECOMPRESSED = 16 * 1024 * 1024;

/**
 * Decompresses into a scratch buffer reused across calls and hands it to `use`, which must not keep it
 * (decoders copy what they keep). Saves allocating and page-faulting a fresh buffer for every body.
 */
export function decompressToScratch<T>(body: Uint8Array, opts: DecompressOptions | undefined, use: (raw: Uint8Array) => T): T {
  const length = checkedLength(body, opts ?? {});
  if (scratchInBusy || length > MAX_SCRATCH_DECOMPRESSED) {
    const out = new Uint8Array(length);
    decompressInto(body, out, length);
    return use(out);
  }
  if (scratchIn.length < length) scratchIn = new Uint8Array(Math.max(length, scratchIn.length * 2, 64 * 1024));
  scratchInBusy = true;
  try {
    decompressInto(body, scratchIn, length);
    return use(scratchIn.subarray(0, length));
  } finally {
    scratchInBusy = false;
  }
}

function checkedLength(body: Uint8Array, opts: DecompressOptions): number {
  const maxSize = opts.maxSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  const length = decompressedLength(body);
  if (length > maxSize) {
    throw new CodecError(
      'PROM_RELAY_CODEC_TOO_LARGE',
      `snappy body declares ${length} decompressed bytes, more than the limit of ${maxSize}`,
      { offset: 0 },
    );
  }
  // A literal or copy element yields at most 64 bytes per input byte; a larger claim is a lie.
  if (length > (body.length - 1) * 64 + 64) {
    throw new CodecError(
      'PROM_RELAY_CODEC_SNAPPY',
      `snappy body of ${body.length} bytes cannot expand to the declared ${length} bytes`,
      { offset: 0 },
    );
  }
  return length;
}

/** Decompresses body into out[0, length), checking every element against both buffers. */
function decompressInto(body: Uint8Array, out: Uint8Array, length: number): void {
  let pos = preambleSize(body);
  let outPos = 0;
  const inLen = body.length;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  while (pos < inLen) {
    const elementAt = pos;
    const c = body[pos++]!;
    const kind = c & 3;
    if (kind === 0) {
      let len = (c >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > inLen) throw snappyError('literal length runs past the end', elementAt);
        len = body[pos]!;
        if (extra > 1) len |= body[pos + 1]! << 8;
        if (extra > 2) len |= body[pos + 2]! << 16;
        if (extra > 3) len += body[pos + 3]! * 0x1000000;
        len += 1;
        pos += extra;
      }
      if (len > inLen - pos) throw snappyError('literal runs past the end of the input', elementAt);
      if (len > length - outPos) throw snappyError('literal runs past the declared length', elementAt);
      if (len < 16) {
        for (let i = 0; i < len; i++) out[outPos + i] = body[pos + i]!;
      } else {
        out.set(body.subarray(pos, pos + len), outPos);
      }
      pos += len;
      outPos += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= inLen) throw snappyError('copy runs past the end of the input', elementAt);
      len = ((c >>> 2) & 7) + 4;
      offset = body[pos]! | ((c >>> 5) << 8);
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > inLen) throw snappyError('copy runs past the end of the input', elementAt);
      len = (c >>> 2) + 1;
      offset = body[pos]! | (body[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > inLen) throw snappyError('copy runs past the end of the input', elementAt);
      len = (c >>> 2) + 1;
      offset = (body[pos]! | (body[pos + 1]! << 8) | (body[pos + 2]! << 16)) + body[pos + 3]! * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > outPos) throw snappyError(`copy offset ${offset} points before the output`, elementAt);
    if (len > length - outPos) throw snappyError('copy runs past the declared length', elementAt);
    if (len >= 48 && offset >= len) {
      out.copyWithin(outPos, outPos - offset, outPos - offset + len);
    } else if (offset >= 4) {
      // Four bytes per step; an overlapping copy (offset < len) still reads bytes already written.
      let i = 0;
      for (; i + 4 <= len; i += 4) view.setUint32(outPos + i, view.getUint32(outPos - offset + i, true), true);
      for (; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
    } else {
      // Overlapping copy repeats the pattern byte by byte, as the format defines.
      for (let i = 0; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
    }
    outPos += len;
  }
  if (outPos !== length) {
    throw snappyError(`snappy body decompressed to ${outPos} bytes, its preamble declared ${length}`, inLen);
  }
}

function snappyError(message: string, offset: number): CodecError {
  return new CodecError('PROM_RELAY_CODEC_SNAPPY', `${message} (at compressed byte ${offset})`, { offset });
}
