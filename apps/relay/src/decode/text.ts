// Text exposition 0.0.4 straight to aggregate input points, in one pass over the body: no intermediate families,
// no per-line strings. It accepts and rejects exactly what the codec's `parseExposition` does (a test compares them);
// each point's `key` is the series as written (`name{labels}`), so the aggregate finds known series without sorting.
// Here: the families (HELP, TYPE, which family a sample belongs to) and the samples. The scanning of lines, names,
// values and label sets is text-scanner.ts; the +Inf buckets histograms imply, text-inf-buckets.ts; the points,
// text-point.ts; what a check-only parse keeps, text-check.ts.
import type { ExpositionLimits, Labels, MetricMetadata } from '@prom-relay/codec';
import type { InputMetricType, InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import { tooManyLabels, valueTooLong } from './limits.js';
import { finishHash, hashRun, isBlank, isNameChar, unescapeHelp } from './text-lexing.js';
import { checkPassed, checkedSample, startCheck } from './text-check.js';
import { InfBuckets } from './text-inf-buckets.js';
import { TextPoint } from './text-point.js';
import { ParseFailure, TextScanner, parseNumber } from './text-scanner.js';
import { MAX_COUNTER_INPUT } from './validate.js';

export { textIdentityHash } from './text-point.js';

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

/** The families, the samples and the comments of a body; the scanning of its lines and labels is TextScanner's. */
class TextParser extends TextScanner {
  private readonly families = new Map<string, Family>();
  /** Samples seen by a check-only parse (no points). */
  sampleCount = 0;
  /** +Inf buckets a check-only parse added (text-inf-buckets.ts), their hashes after the samples'. */
  impliedCount = 0;
  /** A check-only parse saw a value a running total cannot take in a family that may be counter-like. */
  suspect = false;
  /** A check-only parse for an ingest whose rules may read any family as a running total: every family counts as counter-like. */
  everyValueATotal = false;
  private lastName = '';
  /** where lastName is written in the text (compared in place with the next sample's name) */
  private lastNameAt = 0;
  /** where the last metric name read from the text starts */
  private nameAt = 0;
  private lastNameHash = 0;
  private lastFamily: Family | null = null;
  /** the family of the last HELP or TYPE line (found or made there) */
  private commentFamily: Family | null = null;
  /** The histograms' +Inf buckets and `_count`s, made on the first one; none when a grouping label is `le`. */
  private infs: InfBuckets | undefined;
  private readonly leOverridden: boolean;

  constructor(
    t: string,
    job: string,
    grouping: Labels,
    limits: ExpositionLimits,
    /** the points made; null: check only (textBodyPasses), each sample to text-check.ts */
    private readonly points: InputPoint[] | null,
  ) {
    super(t, job, grouping, limits);
    this.leOverridden = this.header.groupingNames.includes('le');
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


}
