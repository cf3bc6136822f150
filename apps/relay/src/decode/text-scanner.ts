// The line and label scanning of the text decoder (text.ts): where the parse is in the body and on its line, blanks,
// names, tokens and number tokens, and a sample's label set checked (syntax, duplicates, limits) and hashed without
// being built. A failure carries its line and column (ParseFailure). TextParser (text.ts) extends it with the families,
// the samples and the comments: one object at run time, so the per-sample path calls no other object.
import { parseFloatToken } from '@prom-relay/codec';
import type { ExpositionLimits, Labels } from '@prom-relay/codec';
import { limitOf, tooManyLabels, valueTooLong } from './limits.js';
import { HASH_PRIME, HASH_SEED, growInt32, hashRun, isBlank, isNameChar, isNameStart, pairHash, sameChars } from './text-lexing.js';
import { isInfBound } from './text-inf-buckets.js';
import type { HeaderLabels } from './text-point.js';

/** Up to this many labels a duplicate name is found by comparing with each earlier one; beyond, with a Set (linear). */
const LINEAR_SCAN_LABELS = 8;

export /** A number token: plain decimals take the fast path; anything else is checked like the codec does. */
function parseNumber(t: string, start: number, end: number): number | undefined {
  // Up to 15 digits, no dot: an integer read digit by digit is exact (below 2^53), no token string needed.
  if (end > start && end - start <= 15) {
    let v = 0;
    let i = start;
    for (; i < end; i++) {
      const d = t.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === end) return v;
  }
  let simple = end > start;
  for (let i = start; i < end; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46)) {
      simple = false;
      break;
    }
  }
  const token = t.slice(start, end);
  if (simple) {
    const v = +token;
    if (v === v) return v; // "." and "1.2.3" are NaN and fall through
  }
  return parseFloatToken(token);
}

/** A parse error at a line and column (1-based), turned into a DecodeError by decodeExpositionText (text.ts). */
export class ParseFailure extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
    readonly code: 'PROM_RELAY_DECODE_TEXT' | 'PROM_RELAY_DECODE_LIMIT',
  ) {
    super(message);
  }
}

/** The scanning state of one parse and its steps along a line; TextParser (text.ts) extends it. */
export class TextScanner {
  /** the labels every point of the message gets from its headers */
  protected readonly header: HeaderLabels;
  private nameStarts = new Int32Array(16);
  private nameLens = new Int32Array(16);
  protected line = 0;
  protected lineStart = 0;
  protected end = 0;
  protected pos = 0;
  /** Sum of the pair hashes of the label set being scanned (see identityHash): pairs the series identity keeps. */
  protected pairsHash = 0;
  /** The hash of the last label value scanned (its text as written, escapes and all). */
  private valueHash = 0;
  /** Names of the label set being scanned, once it has more than LINEAR_SCAN_LABELS of them. */
  private nameSet: Set<string> | undefined;
  /** Labels written in the label set last scanned. */
  protected labelsWritten = 0;
  /** The `le` pair of the label set last scanned (when it has one): where, its part of pairsHash, whether it is +Inf. */
  protected leAt = 0;
  protected leEnd = 0;
  protected lePairHash = 0;
  protected leInf = false;
  protected readonly maxLabels: number;
  protected readonly maxValueLength: number;

  constructor(
    protected readonly t: string,
    job: string,
    grouping: Labels,
    limits: ExpositionLimits,
  ) {
    this.header = { job, grouping, groupingNames: Object.keys(grouping) };
    this.maxLabels = limitOf(limits.maxLabelsPerSeries, 'maxLabelsPerSeries');
    this.maxValueLength = limitOf(limits.maxLabelValueLength, 'maxLabelValueLength');
  }

  protected fail(message: string, pos = this.pos, code: ParseFailure['code'] = 'PROM_RELAY_DECODE_TEXT'): never {
    throw new ParseFailure(this.line, pos - this.lineStart + 1, message, code);
  }

  protected skipBlanks(): void {
    const t = this.t;
    while (this.pos < this.end && isBlank(t.charCodeAt(this.pos))) this.pos++;
  }

  protected readName(colon: boolean, what: string): string {
    const t = this.t;
    const start = this.pos;
    if (start >= this.end) this.fail(`expected ${what}, found end of line`);
    if (!isNameStart(t.charCodeAt(start), colon)) this.fail(`invalid character ${JSON.stringify(t[start])} where ${what} starts`);
    this.pos++;
    while (this.pos < this.end && isNameChar(t.charCodeAt(this.pos), colon)) this.pos++;
    return t.slice(start, this.pos);
  }

  protected readToken(): string {
    const t = this.t;
    const start = this.pos;
    while (this.pos < this.end && !isBlank(t.charCodeAt(this.pos))) this.pos++;
    return t.slice(start, this.pos);
  }

  /**
   * Checks a label set without building it (the aggregate rarely needs labels: TextPoint parses them on demand).
   * Returns bit 1 when an `le` label is present, bit 2 for `quantile`. Linear in the line: duplicates are found with a
   * Set beyond a few labels, and the limits stop it at the first label or character past them.
   */
  protected scanLabels(metric: string): number {
    const t = this.t;
    let seen = 0;
    let count = 0;
    this.nameSet = undefined;
    for (;;) {
      this.skipBlanks();
      if (this.pos >= this.end) this.fail('label set is not closed with "}"');
      if (t.charCodeAt(this.pos) === 125) {
        this.pos++;
        this.labelsWritten = count;
        return seen;
      }
      const nameAt = this.pos;
      if (!isNameStart(t.charCodeAt(nameAt), false)) this.fail(`invalid character ${JSON.stringify(t[nameAt])} where a label name starts`);
      this.pos++;
      while (this.pos < this.end && isNameChar(t.charCodeAt(this.pos), false)) this.pos++;
      const nameLen = this.pos - nameAt;
      if (nameLen === 8 && t.startsWith('__name__', nameAt)) this.fail('label __name__ is not allowed in the text format', nameAt);
      // The metric name is one of the series' labels, as the aggregate counts them.
      if (count + 1 >= this.maxLabels) this.fail(tooManyLabels(metric, this.maxLabels), nameAt, 'PROM_RELAY_DECODE_LIMIT');
      if (this.isDuplicate(nameAt, nameLen, count)) this.fail(`duplicate label ${t.slice(nameAt, nameAt + nameLen)}`, nameAt);
      if (count === this.nameStarts.length) {
        this.nameStarts = growInt32(this.nameStarts);
        this.nameLens = growInt32(this.nameLens);
      }
      this.nameStarts[count] = nameAt;
      this.nameLens[count] = nameLen;
      count++;
      const le = nameLen === 2 && t.startsWith('le', nameAt);
      if (le) seen |= 1;
      else if (nameLen === 8 && t.startsWith('quantile', nameAt)) seen |= 2;
      this.skipBlanks();
      if (t.charCodeAt(this.pos) !== 61 || this.pos >= this.end) this.fail(`expected "=" after label name ${t.slice(nameAt, nameAt + nameLen)}`);
      this.pos++;
      this.skipBlanks();
      if (t.charCodeAt(this.pos) !== 34 || this.pos >= this.end) this.fail(`expected '"' to start the value of label ${t.slice(nameAt, nameAt + nameLen)}`);
      this.pos++;
      const valueAt = this.pos;
      this.scanQuoted(nameAt, nameLen);
      // The series identity leaves out empty values and the labels the headers override (identity.ts seriesIdentity).
      const pair = this.pos - 1 > valueAt && !this.isOverridden(nameAt, nameLen) ? pairHash(hashRun(t, nameAt, nameAt + nameLen), this.valueHash) : 0;
      this.pairsHash = (this.pairsHash + pair) | 0;
      if (le) {
        this.leAt = nameAt;
        this.leEnd = this.pos;
        this.lePairHash = pair;
        this.leInf = isInfBound(t, valueAt, this.pos - 1);
      }
      this.skipBlanks();
      const c = this.pos < this.end ? t.charCodeAt(this.pos) : -1;
      if (c === 44) this.pos++;
      else if (c !== 125) this.fail(c === -1 ? 'label set is not closed with "}"' : `expected "," or "}" after the value of label ${t.slice(nameAt, nameAt + nameLen)}`);
    }
  }

  /** Whether the name at `nameAt` is among the `count` earlier ones; records it in the Set once there are many. */
  private isDuplicate(nameAt: number, nameLen: number, count: number): boolean {
    const t = this.t;
    if (count < LINEAR_SCAN_LABELS) {
      for (let k = 0; k < count; k++) {
        if (this.nameLens[k] === nameLen && sameChars(t, this.nameStarts[k]!, nameAt, nameLen)) return true;
      }
      return false;
    }
    let set = this.nameSet;
    if (set === undefined) {
      set = this.nameSet = new Set();
      for (let k = 0; k < count; k++) set.add(t.slice(this.nameStarts[k]!, this.nameStarts[k]! + this.nameLens[k]!));
    }
    const name = t.slice(nameAt, nameAt + nameLen);
    if (set.has(name)) return true;
    set.add(name);
    return false;
  }

  /**
   * Whether the label name at `nameAt` is `job` or a grouping label: the headers' value replaces the body's (noted on
   * the header: the points' hashes then serve its own set of overridden labels only, see text-point.ts).
   */
  private isOverridden(nameAt: number, nameLen: number): boolean {
    const t = this.t;
    let overridden = nameLen === 3 && t.startsWith('job', nameAt);
    const names = this.header.groupingNames;
    for (let i = 0; i < names.length && !overridden; i++) if (names[i]!.length === nameLen && t.startsWith(names[i]!, nameAt)) overridden = true;
    if (overridden) this.header.bodyOverrides = true;
    return overridden;
  }

  /** Moves past a label value and its closing quote, checking its escapes and its length (escapes count as one). */
  private scanQuoted(nameAt: number, nameLen: number): void {
    const t = this.t;
    const end = this.end;
    const valueAt = this.pos;
    const max = this.maxValueLength;
    let pos = valueAt;
    let length = 0;
    let h = HASH_SEED;
    while (pos < end) {
      const c = t.charCodeAt(pos);
      if (c === 34) {
        this.pos = pos + 1;
        this.valueHash = h;
        return;
      }
      h = Math.imul(h ^ c, HASH_PRIME);
      if (++length > max) this.fail(valueTooLong(t.slice(nameAt, nameAt + nameLen), max), valueAt, 'PROM_RELAY_DECODE_LIMIT');
      if (c === 92) {
        const next = pos + 1 < end ? t.charCodeAt(pos + 1) : -1;
        if (next !== 92 && next !== 34 && next !== 110) {
          this.pos = pos;
          this.fail(next === -1 ? `value of label ${t.slice(nameAt, nameAt + nameLen)} ends inside an escape` : `invalid escape "\\${t[pos + 1]}" in the value of label ${t.slice(nameAt, nameAt + nameLen)}`);
        }
        h = Math.imul(h ^ next, HASH_PRIME);
        pos += 2;
        continue;
      }
      pos++;
    }
    this.pos = pos;
    this.fail(`value of label ${t.slice(nameAt, nameAt + nameLen)} is not closed with '"'`);
  }
}
