// A Pushgateway client pushes the same series again and again, only their values change. A skeleton is an ASCII text
// body that textBodyPasses (text.ts) passed, with where each sample's value is written: a later body of the same
// group that equals it byte for byte outside the value tokens parses the same way (same lines, names, labels, types,
// limits, identity hashes), so it passes too when each new value token is a number the parser takes and a
// counter-like family's value is one a running total can take. Anything else is no match: the caller checks the body
// in full. Used by the HTTP ingest (ingest/prepare.ts) for pushes of one cached group (same headers, same limits).
import { isAscii } from 'node:buffer';
import { lastPassedValues } from './text-check.js';
import { parseValueToken } from './text.js';
import { MAX_COUNTER_INPUT } from './validate.js';

export class TextSkeleton {
  /**
   * The skeleton of the body textBodyPasses just passed (call it right after), or undefined when the body is not ASCII
   * (value positions are string positions: bytes only in ASCII). The body is copied.
   */
  static ofPassed(body: Buffer): TextSkeleton | undefined {
    const values = lastPassedValues();
    if (values === undefined || !isAscii(body)) return undefined;
    return new TextSkeleton(Buffer.from(body), values.at, values.end, values.counterLike);
  }

  /**
   * @param body the passed body (ASCII, kept as is: pass a copy)
   * @param at where each sample's value token starts, in order
   * @param end where each one ends
   * @param counterLike 1 where the sample's family is not a gauge nor untyped
   */
  constructor(
    readonly body: Buffer,
    private readonly at: Int32Array,
    private readonly end: Int32Array,
    private readonly counterLike: Uint8Array,
  ) {}

  /** Bytes held (for the caller's bound). */
  get size(): number {
    return this.body.length + this.at.length * 9;
  }

  /** True when `next` equals the skeleton outside its value tokens and every new value is taken (see above). */
  matches(next: Buffer): boolean {
    const old = this.body;
    const n = this.at.length;
    let o = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      // The text up to this value, byte for byte.
      const to = this.at[i]!;
      if (p + (to - o) > next.length) return false;
      while (o < to) if (old[o++] !== next[p++]) return false;
      // The new value token: up to a blank or the end of the line, as the parser reads it; ASCII only, no CR (a CR
      // ends a line only before LF: the full check decides). Up to 15 digits are read here, exactly as the parser
      // does; anything else goes through the parser's own number reading.
      const start = p;
      let digits = 0;
      let allDigits = true;
      while (p < next.length) {
        const c = next[p]!;
        if (c === 32 || c === 9 || c === 10) break;
        if (c === 13 || c >= 128) return false;
        if (c >= 48 && c <= 57) digits = digits * 10 + (c - 48);
        else allDigits = false;
        p++;
      }
      if (p === start) return false;
      const value = allDigits && p - start <= 15 ? digits : parseValueToken(next.toString('latin1', start, p));
      if (value === undefined) return false;
      if (this.counterLike[i] === 1 && !(value >= 0 && value <= MAX_COUNTER_INPUT)) return false;
      o = this.end[i]!;
    }
    if (next.length - p !== old.length - o) return false;
    while (o < old.length) if (old[o++] !== next[p++]) return false;
    return true;
  }
}
