/** Bits of the Prometheus staleness marker, a NaN that arithmetic would turn into an ordinary NaN. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** Low and high 32-bit words of STALE_NAN_BITS, as written little-endian on the wire. */
export const STALE_NAN_LO = 0x00000002;
export const STALE_NAN_HI = 0x7ff00000;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bit pattern of a double as [lo, hi] words (used by tests and the CLI). */
export function float64Words(value: number): [number, number] {
  f64[0] = value;
  return littleEndian ? [u32[0]!, u32[1]!] : [u32[1]!, u32[0]!];
}
