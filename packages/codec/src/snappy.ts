/// <reference path="./snappyjs.d.ts" />
import snappyjs from 'snappyjs';
import { CodecError } from './errors.js';
import type { DecompressOptions } from './types.js';

/** Default largest decompressed body: 32 MiB, what Prometheus receivers accept. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 32 * 1024 * 1024;

/** Snappy block format (never framed), as remote write requires. */
export function compress(raw: Uint8Array): Uint8Array {
  return snappyjs.compress(raw);
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
  const out = new Uint8Array(length);
  let pos = preambleSize(body);
  let outPos = 0;
  const inLen = body.length;
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
    if (offset >= len) {
      out.copyWithin(outPos, outPos - offset, outPos - offset + len);
    } else {
      // Overlapping copy repeats the pattern byte by byte, as the format defines.
      for (let i = 0; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
    }
    outPos += len;
  }
  if (outPos !== length) {
    throw snappyError(`snappy body decompressed to ${outPos} bytes, its preamble declared ${length}`, inLen);
  }
  return out;
}

function snappyError(message: string, offset: number): CodecError {
  return new CodecError('PROM_RELAY_CODEC_SNAPPY', `${message} (at compressed byte ${offset})`, { offset });
}
