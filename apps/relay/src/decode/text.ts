import { parseFloatToken } from '@prom-relay/codec';
import type { ExpositionLimits, Labels, MetricMetadata } from '@prom-relay/codec';
import type { InputMetricType, InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import { limitOf, tooManyLabels, valueTooLong } from './limits.js';
import { HASH_PRIME, HASH_SEED, finishHash, growInt32, hashRun, isBlank, isNameChar, isNameStart, pairHash, sameChars, skipBlanksIn, unescapeHelp } from './text-lexing.js';
import { checkPassed, checkedSample, startCheck } from './text-check.js';
import { InfBuckets, isInfBound } from './text-inf-buckets.js';
import { TextPoint, type HeaderLabels } from './text-point.js';
import { MAX_COUNTER_INPUT } from './validate.js';

export { textIdentityHash } from './text-point.js';

/**
 * Text exposition 0.0.4 straight to aggregate input points, in one pass over the body: no intermediate families,
 * no per-line strings. It accepts and rejects exactly what the codec's `parseExposition` does (a test compares them);
 * each point's `key` is the series as written (`name{labels}`), so the aggregate finds known series without sorting.
 */

interface Family {
  name: string;
  /** a number unique among the parse's families */
  id: number;
  type: InputMetricType;
  typed: boolean;
  hasHelp: boolean;
  /** where the HELP text lies in the body (escaped; -1: none): sliced and unescaped only when handed on */
  helpAt: number;
  helpEnd: number;
  hasSamples: boolean;
}

const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** Up to this many labels a duplicate name is found by comparing with each earlier one; beyond, with a Set (linear). */
const LINEAR_SCAN_LABELS = 8;

/** A number token: plain decimals take the fast path; anything else is checked like the codec does. */
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

class ParseFailure extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
    readonly code: 'PROM_RELAY_DECODE_TEXT' | 'PROM_RELAY_DECODE_LIMIT',
  ) {
    super(message);
  }
}

/**
 * Parses `text` into points; `job` and `grouping` are added to every label set, overriding the body's labels
 * (Pushgateway does the same). Empty label values are dropped (an empty value is an absent label).
 * Time is linear in the text. A label set beyond `limits` (labels per series, the metric name counted; label value
 * length after unescaping) throws PROM_RELAY_DECODE_LIMIT with line and column, before the excess is read further.
 * With `metadataOut`, the HELP text of every family that has samples is appended to it (with the family's type),
 * once per family after the parse: HELP costs nothing on the per-sample path.
 */
export function decodeExpositionText(
  text: string,
  job: string,
  grouping: Labels,
  limits: ExpositionLimits = {},
  metadataOut?: MetricMetadata[],
): InputPoint[] {
  try {
    const points: InputPoint[] = [];
    const parser = new TextParser(text, job, grouping, limits, points);
    parser.parse();
    if (metadataOut !== undefined) parser.helpOf(metadataOut);
    return points;
  } catch (error) {
    if (error instanceof ParseFailure) {
      throw new DecodeError(error.code, `line ${error.line}, column ${error.column}: ${error.message}`, {
        line: error.line,
        column: error.column,
      });
    }
    throw error;
  }
}

/**
 * True when decodeRecord is sure to take this text body (with these header labels and limits): the same parse as
 * decodeExpositionText, building no points, then validateBatch's checks on what the parse kept per sample. False
 * does not mean refused: a body that does not parse, a value out of a running total's range in a family that is not
 * a gauge or untyped (the summary quantiles too; in any family with `everyValueATotal`), or two series with equal
 * identity hashes are left to decodeRecord,
 * which answers exactly (the HTTP ingest calls it then). So a true here is always a true there, for less work.
 */
export function textBodyPasses(text: string, job: string, grouping: Labels, limits: ExpositionLimits = {}, everyValueATotal = false): boolean {
  startCheck();
  const parser = new TextParser(text, job, grouping, limits, null);
  // Aggregation rules may read gauges as running totals (decodeRecord's readsAsTotal): every value is then suspect
  // outside a running total's range, and each sample's value is one the skeleton checks.
  parser.everyValueATotal = everyValueATotal;
  try {
    parser.parse();
  } catch (error) {
    if (error instanceof ParseFailure) return false;
    throw error;
  }
  return !parser.suspect && checkPassed(parser.sampleCount, parser.impliedCount);
}

/** A value token as a sample line's value: its number, or undefined where the parser refuses it. */
export function parseValueToken(token: string): number | undefined {
  return parseNumber(token, 0, token.length);
}

class TextParser {
  private readonly families = new Map<string, Family>();
  /** Samples seen by a check-only parse (no points). */
  sampleCount = 0;
  /** +Inf buckets a check-only parse added (text-inf-buckets.ts), their hashes after the samples'. */
  impliedCount = 0;
  /** A check-only parse saw a value a running total cannot take in a family that may be counter-like. */
  suspect = false;
  /** A check-only parse for an ingest whose rules may read any family as a running total: every family counts as counter-like. */
  everyValueATotal = false;
  private readonly header: HeaderLabels;
  private nameStarts = new Int32Array(16);
  private nameLens = new Int32Array(16);
  private line = 0;
  private lineStart = 0;
  private end = 0;
  private pos = 0;
  private lastName = '';
  /** where lastName is written in the text (compared in place with the next sample's name) */
  private lastNameAt = 0;
  /** where the last metric name read from the text starts */
  private nameAt = 0;
  private lastNameHash = 0;
  private lastFamily: Family | null = null;
  /** the family of the last HELP or TYPE line (found or made there) */
  private commentFamily: Family | null = null;
  /** Sum of the pair hashes of the label set being scanned (see identityHash): pairs the series identity keeps. */
  private pairsHash = 0;
  /** The hash of the last label value scanned (its text as written, escapes and all). */
  private valueHash = 0;
  /** Names of the label set being scanned, once it has more than LINEAR_SCAN_LABELS of them. */
  private nameSet: Set<string> | undefined;
  /** Labels written in the label set last scanned. */
  private labelsWritten = 0;
  /** The `le` pair of the label set last scanned (when it has one): where, its part of pairsHash, whether it is +Inf. */
  private leAt = 0;
  private leEnd = 0;
  private lePairHash = 0;
  private leInf = false;
  /** The histograms' +Inf buckets and `_count`s, made on the first one; none when a grouping label is `le`. */
  private infs: InfBuckets | undefined;
  private readonly leOverridden: boolean;
  private readonly maxLabels: number;
  private readonly maxValueLength: number;

  constructor(
    private readonly t: string,
    job: string,
    grouping: Labels,
    limits: ExpositionLimits,
    /** the points made; null: check only (textBodyPasses), each sample to text-check.ts */
    private readonly points: InputPoint[] | null,
  ) {
    this.header = { job, grouping, groupingNames: Object.keys(grouping) };
    this.leOverridden = this.header.groupingNames.includes('le');
    this.maxLabels = limitOf(limits.maxLabelsPerSeries, 'maxLabelsPerSeries');
    this.maxValueLength = limitOf(limits.maxLabelValueLength, 'maxLabelValueLength');
  }

  parse(): void {
    const t = this.t;
    let start = 0;
    while (start <= t.length) {
      let nl = t.indexOf('\n', start);
      if (nl === -1) nl = t.length;
      this.line++;
      this.lineStart = start;
      this.end = nl > start && t.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.pos = start;
      this.parseLine();
      start = nl + 1;
    }
    if (this.infs !== undefined) this.addImpliedBuckets(this.infs);
  }

  /**
   * The +Inf buckets the histograms imply (text-inf-buckets.ts), after the samples: each as if written in the body,
   * within the same limits (on the line of its `_count`).
   */
  private addImpliedBuckets(infs: InfBuckets): void {
    for (const b of infs.implied(this.t, () => new Set(['job', ...this.header.groupingNames]))) {
      const implied = ': the le="+Inf" bucket this histogram _count implies (the body writes none for it)';
      if (b.labels >= this.maxLabels) throw new ParseFailure(b.line, 1, tooManyLabels(`${b.family}_bucket`, this.maxLabels) + implied, 'PROM_RELAY_DECODE_LIMIT');
      if (4 > this.maxValueLength) throw new ParseFailure(b.line, 1, valueTooLong('le', this.maxValueLength) + implied, 'PROM_RELAY_DECODE_LIMIT');
      if (this.points !== null) this.points.push(new TextPoint(b.family, 'histogram', b.value, b.key, this.header, b.hash));
      else checkedSample(this.sampleCount + this.impliedCount++, b.hash, -1, -1, true);
    }
  }

  /** Type and HELP of the families with a HELP line and samples (a HELP line alone describes nothing sent). */
  helpOf(out: MetricMetadata[]): void {
    for (const f of this.families.values()) {
      if (f.helpEnd > f.helpAt && f.hasSamples) {
        out.push({ metricFamilyName: f.name, type: f.type === 'untyped' ? 'unknown' : f.type, help: unescapeHelp(this.t.slice(f.helpAt, f.helpEnd)) });
      }
    }
  }

  private fail(message: string, pos = this.pos, code: ParseFailure['code'] = 'PROM_RELAY_DECODE_TEXT'): never {
    throw new ParseFailure(this.line, pos - this.lineStart + 1, message, code);
  }

  private skipBlanks(): void {
    const t = this.t;
    while (this.pos < this.end && isBlank(t.charCodeAt(this.pos))) this.pos++;
  }

  private parseLine(): void {
    this.skipBlanks();
    if (this.pos >= this.end) return;
    if (this.t.charCodeAt(this.pos) === 35) {
      this.lastFamily = null;
      this.parseComment();
      return;
    }
    this.parseSample();
  }

  /**
   * The metric name of a sample line: when it is the previous line's (samples of a family come together), that string
   * again, compared in place instead of copied out of the text.
   */
  private readMetricName(): string {
    const t = this.t;
    const start = this.pos;
    const last = this.lastName;
    const n = last.length;
    const end = start + n;
    if (this.lastFamily !== null && n > 0 && end <= this.end && (end === this.end || !isNameChar(t.charCodeAt(end), true))) {
      // compared from its end: the names of one family's series differ there (`_bucket`, `_sum`, `_count`) if at all
      const at = this.lastNameAt;
      let i = n - 1;
      while (i >= 0 && t.charCodeAt(start + i) === t.charCodeAt(at + i)) i--;
      if (i < 0) {
        this.pos = end;
        return last;
      }
    }
    this.nameAt = start;
    const name = this.readName(true, 'a metric name');
    this.lastNameHash = hashRun(name, 0, name.length);
    return name;
  }

  private readName(colon: boolean, what: string): string {
    const t = this.t;
    const start = this.pos;
    if (start >= this.end) this.fail(`expected ${what}, found end of line`);
    if (!isNameStart(t.charCodeAt(start), colon)) this.fail(`invalid character ${JSON.stringify(t[start])} where ${what} starts`);
    this.pos++;
    while (this.pos < this.end && isNameChar(t.charCodeAt(this.pos), colon)) this.pos++;
    return t.slice(start, this.pos);
  }

  private readToken(): string {
    const t = this.t;
    const start = this.pos;
    while (this.pos < this.end && !isBlank(t.charCodeAt(this.pos))) this.pos++;
    return t.slice(start, this.pos);
  }

  private parseComment(): void {
    const t = this.t;
    this.pos++;
    this.skipBlanks();
    const keywordAt = this.pos;
    const keyword = this.readToken();
    if (keyword !== 'HELP' && keyword !== 'TYPE') return;
    if (this.pos >= this.end) return;
    this.skipBlanks();
    const name = this.readName(true, 'a metric name');
    if (this.pos < this.end && !isBlank(t.charCodeAt(this.pos))) this.fail(`invalid character ${JSON.stringify(t[this.pos])} in metric name`);
    // HELP and TYPE of one family come together: the second finds the family the first one made or found.
    const last = this.commentFamily;
    const existing = last !== null && last.name === name ? last : this.families.get(name);
    if (keyword === 'HELP') {
      if (existing?.hasHelp) this.fail(`second HELP line for metric ${name}`, keywordAt);
      const family = existing ?? this.newFamily(name, 'untyped');
      this.commentFamily = family;
      family.hasHelp = true;
      // As the codec reads it: everything after the one blank that ends the name (kept as positions until handed on).
      family.helpAt = Math.min(this.pos + 1, this.end);
      family.helpEnd = this.end;
      return;
    }
    this.skipBlanks();
    const typeAt = this.pos;
    const type = this.readToken();
    this.skipBlanks();
    if (this.pos < this.end) this.fail(`unexpected text after the type of ${name}`);
    if (!TYPES.has(type)) this.fail(`unknown metric type ${JSON.stringify(type)}`, typeAt);
    if (existing) {
      if (existing.hasSamples) this.fail(`TYPE line for ${name} after its samples`, keywordAt);
      if (existing.typed) this.fail(`second TYPE line for metric ${name}`, keywordAt);
      existing.type = type as InputMetricType;
      existing.typed = true;
      this.commentFamily = existing;
    } else {
      const family = this.newFamily(name, type as InputMetricType);
      family.typed = true;
      this.commentFamily = family;
    }
  }

  private newFamily(name: string, type: InputMetricType): Family {
    const family: Family = { name, id: this.families.size, type, typed: false, hasHelp: false, helpAt: -1, helpEnd: -1, hasSamples: false };
    this.families.set(name, family);
    return family;
  }

  /** Same resolution as the codec: the sample's own family, or the histogram/summary it is a part of. */
  private familyFor(name: string): Family {
    if (this.lastFamily !== null && name === this.lastName) return this.lastFamily;
    let family: Family | undefined;
    // The first sample after a family's HELP and TYPE lines is usually of that family.
    const commented = this.commentFamily;
    const own = commented !== null && commented.name === name ? commented : this.families.get(name);
    if (own && own.type !== 'histogram') family = own;
    else {
      for (const suffix of ['_bucket', '_sum', '_count']) {
        if (!name.endsWith(suffix)) continue;
        const base = this.families.get(name.slice(0, -suffix.length));
        if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) {
          family = base;
          break;
        }
      }
      family ??= own ?? this.newFamily(name, 'untyped');
    }
    this.lastName = name;
    this.lastNameAt = this.nameAt;
    this.lastFamily = family;
    return family;
  }

  private parseSample(): void {
    const t = this.t;
    const nameStart = this.pos;
    const name = this.readMetricName();
    const nameHash = this.lastNameHash;
    this.pairsHash = 0;
    this.labelsWritten = 0;
    let seen = 0;
    const afterName = this.pos;
    this.skipBlanks();
    let keyEnd = afterName;
    let innerAt = afterName;
    if (this.pos < this.end && t.charCodeAt(this.pos) === 123) {
      this.pos++;
      innerAt = this.pos;
      seen = this.scanLabels(name);
      keyEnd = this.pos;
      if (this.pos < this.end && !isBlank(t.charCodeAt(this.pos))) {
        this.fail(`expected a blank after the labels of ${name}, found ${JSON.stringify(t[this.pos])}`);
      }
      this.skipBlanks();
    } else if (this.pos === afterName && this.pos < this.end) {
      this.fail(`invalid character ${JSON.stringify(t[this.pos])} after metric name ${name}`);
    }
    if (this.pos >= this.end) this.fail(`missing value for ${name}`);
    const valueAt = this.pos;
    while (this.pos < this.end && !isBlank(t.charCodeAt(this.pos))) this.pos++;
    const valueEnd = this.pos;
    const value = parseNumber(t, valueAt, valueEnd);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(t.slice(valueAt, this.pos))}`, valueAt);
    this.skipBlanks();
    if (this.pos < this.end) {
      const tsAt = this.pos;
      const ts = this.readToken();
      if (!/^[+-]?\d+$/.test(ts)) this.fail(`invalid timestamp ${JSON.stringify(ts)}`, tsAt);
      if (!Number.isSafeInteger(Number(ts))) this.fail(`timestamp ${ts} is out of range`, tsAt);
      this.skipBlanks();
      if (this.pos < this.end) this.fail('unexpected text after the timestamp');
    }
    const family = this.familyFor(name);
    if (family.type === 'histogram' && (seen & 1) === 0 && name.length === family.name.length + 7 && name === `${family.name}_bucket`) {
      this.fail(`histogram bucket ${name} has no "le" label`, this.lineStart);
    }
    if (family.type === 'summary' && (seen & 2) === 0 && name === family.name) {
      this.fail(`summary sample ${name} has no "quantile" label`, this.lineStart);
    }
    family.hasSamples = true;
    if (family.type === 'histogram' && !this.leOverridden) this.histogramSample(family, name, seen, nameStart, innerAt === afterName ? -1 : innerAt, keyEnd, value!);
    const hash = finishHash(nameHash + this.pairsHash);
    if (this.points !== null) {
      this.points.push(new TextPoint(family.name, family.type, value!, t.slice(nameStart, keyEnd), this.header, hash));
      return;
    }
    // Check only: what checkCounterValues and the duplicate check read, without a point.
    const counterLike = this.everyValueATotal || (family.type !== 'gauge' && family.type !== 'untyped');
    if (counterLike && !(value! >= 0 && value! <= MAX_COUNTER_INPUT)) this.suspect = true;
    checkedSample(this.sampleCount++, hash, valueAt, valueEnd, counterLike);
  }

  /** A sample of a histogram family: its buckets, its +Inf bucket and its `_count` noted (text-inf-buckets.ts). */
  private histogramSample(family: Family, name: string, seen: number, keyAt: number, innerAt: number, keyEnd: number, value: number): void {
    // `_bucket` is the only 7-character suffix, `_count` the only 6-character one (familyFor).
    const suffix = name.length - family.name.length;
    if (suffix === 7 ? (seen & 1) === 0 : suffix !== 6 || (seen & 1) !== 0) return;
    const infs = (this.infs ??= new InfBuckets());
    // no braces: the labels are the empty range at the key's end
    const at = innerAt < 0 ? keyEnd : innerAt;
    const end = innerAt < 0 ? keyEnd : keyEnd - 1;
    if (suffix === 6) infs.count(family.name, family.id, keyAt, keyEnd, at, end, this.pairsHash, value, this.labelsWritten, this.line);
    else {
      const h = infs.bucket(family.id, this.pairsHash, this.lePairHash);
      if (this.leInf) infs.infBucket(h, family.id, keyAt, keyEnd, at, end, this.leAt, this.leEnd);
    }
  }

  /**
   * Checks a label set without building it (the aggregate rarely needs labels: TextPoint parses them on demand).
   * Returns bit 1 when an `le` label is present, bit 2 for `quantile`. Linear in the line: duplicates are found with a
   * Set beyond a few labels, and the limits stop it at the first label or character past them.
   */
  private scanLabels(metric: string): number {
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
