import snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { CodecError, compress, decompress, decompressedLength } from '../src/index.js';

function sampleBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >> 5)) % 23;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}

describe('snappy', () => {
  it('round-trips bytes and reads what snappyjs writes', () => {
    for (const n of [0, 1, 15, 16, 100, 70_000, 300_000]) {
      const raw = sampleBytes(n);
      expect(sameBytes(decompress(compress(raw)), raw)).toBe(true);
      expect(sameBytes(decompress(snappyjs.compress(raw)), raw)).toBe(true);
      expect(sameBytes(snappyjs.uncompress(compress(raw)), raw)).toBe(true);
    }
  });

  it('handles overlapping copies (runs) and long literals', () => {
    const run = new Uint8Array(5000).fill(0xab);
    expect(sameBytes(decompress(compress(run)), run)).toBe(true);
    const random = new Uint8Array(100_000);
    for (let i = 0; i < random.length; i++) random[i] = (Math.imul(i, 2654435761) >>> 13) & 0xff;
    expect(sameBytes(decompress(compress(random)), random)).toBe(true);
  });

  it('checks maxSize against the preamble before allocating', () => {
    // Preamble claims 4 GiB - 1 with no data behind it: must fail on the claim, not on an allocation.
    const hostile = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(decompressedLength(hostile)).toBe(0xffffffff);
    expect(codeOf(() => decompress(hostile))).toBe('PROM_RELAY_CODEC_TOO_LARGE');
    const body = compress(sampleBytes(2000));
    expect(codeOf(() => decompress(body, { maxSize: 1999 }))).toBe('PROM_RELAY_CODEC_TOO_LARGE');
    expect(decompress(body, { maxSize: 2000 }).length).toBe(2000);
  });

  it('rejects a preamble larger than the body could expand to', () => {
    expect(codeOf(() => decompress(new Uint8Array([0x80, 0x80, 0x40, 0x00])))).toBe('PROM_RELAY_CODEC_SNAPPY');
  });

  it('rejects truncated, mis-sized and corrupt bodies with PROM_RELAY_CODEC_SNAPPY and an offset', () => {
    const body = compress(sampleBytes(1000));
    expect(codeOf(() => decompress(body.subarray(0, body.length - 3)))).toBe('PROM_RELAY_CODEC_SNAPPY');
    expect(codeOf(() => decompress(new Uint8Array([])))).toBe('PROM_RELAY_CODEC_SNAPPY');
    expect(codeOf(() => decompress(new Uint8Array([0x80])))).toBe('PROM_RELAY_CODEC_SNAPPY');
    // Declares 5 bytes but holds a 1-byte literal.
    expect(codeOf(() => decompress(new Uint8Array([5, 0x00, 0x41])))).toBe('PROM_RELAY_CODEC_SNAPPY');
    // A copy with offset 0.
    expect(codeOf(() => decompress(new Uint8Array([8, 0x00, 0x41, 0x01, 0x00])))).toBe('PROM_RELAY_CODEC_SNAPPY');
    // A copy reaching before the start of the output.
    const err = (() => {
      try {
        decompress(new Uint8Array([8, 0x00, 0x41, 0x01, 0x05]));
      } catch (e) {
        return e as CodecError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('PROM_RELAY_CODEC_SNAPPY');
    expect(err?.offset).toBe(3);
  });
});
