import { CodecError } from '../errors.js';
import { buildLabels } from '../remote-write/label-shapes.js';
import type { Labels } from '../types.js';
import type { ExpositionLimits, ExpositionSample, ExpositionType, MetricFamily, ParseExpositionOptions } from './types.js';

/** Scratch for the labels of the line being parsed (parsing is synchronous). */
const labelNames: string[] = [];
const labelValues: string[] = [];
/** Up to this many labels a duplicate name is found by comparing with each earlier one; beyond, with a Set (linear). */
const LINEAR_SCAN_LABELS = 8;
/** Marks "no label block seen"; replaced by a fresh object per sample. */
const EMPTY_LABELS: Labels = Object.freeze({}) as Labels;

const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const INT_RE = /^[+-]?\d+$/;

function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58);
}

function isNameChar(c: number, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= 48 && c <= 57);
}

/** Parses a float the way Prometheus does (Go ParseFloat): decimals, exponents, NaN and ±Inf in any case. */
export function parseFloatToken(token: string): number | undefined {
  if (FLOAT_RE.test(token)) return Number(token);
  switch (token.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

/** Line-at-a-time parser state; one instance per parseExposition call. */
class ExpositionParser {
  private readonly families: MetricFamily[] = [];
  private readonly byName = new Map<string, MetricFamily>();
  /** Families that had a TYPE line (a HELP line alone creates an untyped family that TYPE may still set). */
  private readonly typed = new Set<MetricFamily>();
  private line = 0;
  /** The family of the previous sample line: consecutive lines almost always share it. */
  private lastName = '';
  private lastFamily: MetricFamily | undefined;
  private text = '';
  private pos = 0;
  /** Names of the label set being parsed, once it has more than LINEAR_SCAN_LABELS of them. */
  private nameSet: Set<string> | undefined;
  private readonly maxLabels: number;
  private readonly maxValueLength: number;

  constructor(limits: ExpositionLimits = {}) {
    this.maxLabels = limitOf(limits.maxLabelsPerSeries, 'maxLabelsPerSeries');
    this.maxValueLength = limitOf(limits.maxLabelValueLength, 'maxLabelValueLength');
  }

  parse(input: string): MetricFamily[] {
    let start = 0;
    while (start <= input.length) {
      let nl = input.indexOf('\n', start);
      if (nl === -1) nl = input.length;
      this.line++;
      this.text = input.charCodeAt(nl - 1) === 13 ? input.slice(start, nl - 1) : input.slice(start, nl);
      this.pos = 0;
      this.parseLine();
      start = nl + 1;
    }
    return this.families;
  }

  private fail(message: string, pos = this.pos, code: 'PROM_RELAY_CODEC_EXPOSITION' | 'PROM_RELAY_CODEC_LIMIT' = 'PROM_RELAY_CODEC_EXPOSITION'): never {
    const column = pos + 1;
    throw new CodecError(code, `line ${this.line}, column ${column}: ${message}`, {
      line: this.line,
      column,
    });
  }

  private skipBlanks(): void {
    const t = this.text;
    while (this.pos < t.length && (t.charCodeAt(this.pos) === 32 || t.charCodeAt(this.pos) === 9)) this.pos++;
  }

  private parseLine(): void {
    this.skipBlanks();
    const t = this.text;
    if (this.pos >= t.length) return;
    if (t.charCodeAt(this.pos) === 35) {
      this.parseComment();
      return;
    }
    this.parseSample();
  }

  private readName(colon: boolean, what: string): string {
    const t = this.text;
    const start = this.pos;
    if (start >= t.length || !isNameStart(t.charCodeAt(start), colon)) {
      this.fail(start >= t.length ? `expected ${what}, found end of line` : `invalid character ${JSON.stringify(t[start])} where ${what} starts`);
    }
    this.pos++;
    while (this.pos < t.length && isNameChar(t.charCodeAt(this.pos), colon)) this.pos++;
    return t.slice(start, this.pos);
  }

  private readToken(): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && t.charCodeAt(this.pos) !== 32 && t.charCodeAt(this.pos) !== 9) this.pos++;
    return t.slice(start, this.pos);
  }

  private parseComment(): void {
    const t = this.text;
    this.pos++;
    this.skipBlanks();
    const keywordAt = this.pos;
    const keyword = this.readToken();
    if (keyword !== 'HELP' && keyword !== 'TYPE') return; // an ordinary comment
    if (this.pos >= t.length) return; // "# HELP" alone is a comment in the Go parser too
    this.skipBlanks();
    const name = this.readName(true, 'a metric name');
    if (this.pos < t.length && t.charCodeAt(this.pos) !== 32 && t.charCodeAt(this.pos) !== 9) {
      this.fail(`invalid character ${JSON.stringify(t[this.pos])} in metric name`);
    }
    const existing = this.byName.get(name);
    if (keyword === 'HELP') {
      this.pos = Math.min(this.pos + 1, t.length);
      const help = unescapeHelp(t.slice(this.pos));
      if (existing?.help !== undefined) this.fail(`second HELP line for metric ${name}`, keywordAt);
      const family = existing ?? this.newFamily(name, 'untyped');
      family.help = help;
      return;
    }
    this.skipBlanks();
    const typeAt = this.pos;
    const type = this.readToken();
    this.skipBlanks();
    if (this.pos < t.length) this.fail(`unexpected text after the type of ${name}`);
    if (!TYPES.has(type)) this.fail(`unknown metric type ${JSON.stringify(type)}`, typeAt);
    if (existing) {
      if (existing.samples.length > 0) this.fail(`TYPE line for ${name} after its samples`, keywordAt);
      if (this.typed.has(existing)) this.fail(`second TYPE line for metric ${name}`, keywordAt);
      existing.type = type as ExpositionType;
      this.typed.add(existing);
    } else {
      this.typed.add(this.newFamily(name, type as ExpositionType));
    }
  }

  private newFamily(name: string, type: ExpositionType): MetricFamily {
    const family: MetricFamily = { name, type, samples: [] };
    this.families.push(family);
    this.byName.set(name, family);
    return family;
  }

  /** The family a sample name belongs to: itself, or a histogram/summary it is a `_bucket`/`_sum`/`_count` of. */
  private familyFor(name: string): MetricFamily {
    if (name === this.lastName && this.lastFamily !== undefined && this.byName.get(this.lastFamily.name) === this.lastFamily) {
      return this.lastFamily;
    }
    const family = this.lookupFamily(name);
    this.lastName = name;
    this.lastFamily = family;
    return family;
  }

  private lookupFamily(name: string): MetricFamily {
    const own = this.byName.get(name);
    if (own && own.type !== 'histogram') return own;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!name.endsWith(suffix)) continue;
      const base = this.byName.get(name.slice(0, -suffix.length));
      if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
    }
    return own ?? this.newFamily(name, 'untyped');
  }

  private parseSample(): void {
    const t = this.text;
    const name = this.readName(true, 'a metric name');
    let labels: Labels = EMPTY_LABELS;
    const afterName = this.pos;
    this.skipBlanks();
    if (this.pos < t.length && t.charCodeAt(this.pos) === 123) {
      this.pos++;
      const count = this.parseLabels(name);
      labels = count === 0 ? {} : buildLabels(labelNames, labelValues, count, 0);
      if (this.pos < t.length && t.charCodeAt(this.pos) !== 32 && t.charCodeAt(this.pos) !== 9) {
        this.fail(`expected a blank after the labels of ${name}, found ${JSON.stringify(t[this.pos])}`);
      }
      this.skipBlanks();
    } else if (this.pos === afterName && this.pos < t.length) {
      this.fail(`invalid character ${JSON.stringify(t[this.pos])} after metric name ${name}`);
    }
    if (this.pos >= t.length) this.fail(`missing value for ${name}`);
    const valueAt = this.pos;
    const valueToken = this.readToken();
    const value = parseFloatToken(valueToken);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(valueToken)}`, valueAt);
    this.skipBlanks();
    if (labels === EMPTY_LABELS) labels = {};
    const sample: ExpositionSample = { name, labels, value };
    if (this.pos < t.length) {
      const tsAt = this.pos;
      const tsToken = this.readToken();
      if (!INT_RE.test(tsToken)) this.fail(`invalid timestamp ${JSON.stringify(tsToken)}`, tsAt);
      const timestamp = Number(tsToken);
      if (!Number.isSafeInteger(timestamp)) this.fail(`timestamp ${tsToken} is out of range`, tsAt);
      sample.timestamp = timestamp;
      this.skipBlanks();
      if (this.pos < t.length) this.fail('unexpected text after the timestamp');
    }
    const family = this.familyFor(name);
    if (family.type === 'histogram' && name === `${family.name}_bucket` && !Object.hasOwn(labels, 'le')) {
      this.fail(`histogram bucket ${name} has no "le" label`, 0);
    }
    if (family.type === 'summary' && name === family.name && !Object.hasOwn(labels, 'quantile')) {
      this.fail(`summary sample ${name} has no "quantile" label`, 0);
    }
    family.samples.push(sample);
  }

  /**
   * Parses `name="value",...}` (after the brace) into labelNames/labelValues; returns the count. Linear in the line:
   * duplicates are found with a Set beyond a few labels, and the limits stop it before anything past them is kept.
   */
  private parseLabels(metric: string): number {
    const t = this.text;
    let count = 0;
    this.nameSet = undefined;
    for (;;) {
      this.skipBlanks();
      if (this.pos >= t.length) this.fail('label set is not closed with "}"');
      if (t.charCodeAt(this.pos) === 125) {
        this.pos++;
        return count;
      }
      const nameAt = this.pos;
      const labelName = this.readName(false, 'a label name');
      if (labelName === '__name__') this.fail('label __name__ is not allowed in the text format', nameAt);
      // The metric name is one of the series' labels, as the aggregate counts them.
      if (count + 1 >= this.maxLabels) this.fail(tooManyLabels(metric, this.maxLabels), nameAt, 'PROM_RELAY_CODEC_LIMIT');
      if (this.isDuplicate(labelName, count)) this.fail(`duplicate label ${labelName}`, nameAt);
      this.skipBlanks();
      if (t.charCodeAt(this.pos) !== 61) this.fail(`expected "=" after label name ${labelName}`);
      this.pos++;
      this.skipBlanks();
      if (t.charCodeAt(this.pos) !== 34) this.fail(`expected '"' to start the value of label ${labelName}`);
      this.pos++;
      labelNames[count] = labelName;
      labelValues[count] = this.readQuoted(labelName);
      count++;
      this.skipBlanks();
      const c = t.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
      } else if (c !== 125) {
        this.fail(this.pos >= t.length ? 'label set is not closed with "}"' : `expected "," or "}" after the value of label ${labelName}`);
      }
    }
  }

  /** Whether `name` is among the first `count` names of labelNames; records it in the Set once there are many. */
  private isDuplicate(name: string, count: number): boolean {
    if (count < LINEAR_SCAN_LABELS) {
      for (let i = 0; i < count; i++) if (labelNames[i] === name) return true;
      return false;
    }
    if (this.nameSet === undefined) this.nameSet = new Set(labelNames.slice(0, count));
    if (this.nameSet.has(name)) return true;
    this.nameSet.add(name);
    return false;
  }

  /** Reads a label value up to its closing quote, resolving \\, \" and \n; at most maxLabelValueLength characters. */
  private readQuoted(labelName: string): string {
    const t = this.text;
    const start = this.pos;
    const max = this.maxValueLength;
    let out = '';
    let runStart = start;
    let length = 0;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 34) {
        const value = runStart === start ? t.slice(start, this.pos) : out + t.slice(runStart, this.pos);
        this.pos++;
        return value;
      }
      if (++length > max) this.fail(valueTooLong(labelName, max), start, 'PROM_RELAY_CODEC_LIMIT');
      if (c === 92) {
        out += t.slice(runStart, this.pos);
        const next = t[this.pos + 1];
        if (next === '\\') out += '\\';
        else if (next === '"') out += '"';
        else if (next === 'n') out += '\n';
        else this.fail(next === undefined ? `value of label ${labelName} ends inside an escape` : `invalid escape "\\${next}" in the value of label ${labelName}`);
        this.pos += 2;
        runStart = this.pos;
        continue;
      }
      this.pos++;
    }
    this.fail(`value of label ${labelName} is not closed with '"'`);
  }
}

/** A limit option: absent means none; anything else must be a positive integer. */
function limitOf(value: number | undefined, name: string): number {
  if (value === undefined) return Infinity;
  if (!Number.isSafeInteger(value) || value < 1) throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `limits.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The limit messages (the relay's one-pass decoder says the same; its test compares them). */
function tooManyLabels(metric: string, max: number): string {
  return `series ${metric} has more than ${max} labels, its name counted (limit maxLabelsPerSeries)`;
}

function valueTooLong(labelName: string, max: number): string {
  return `value of label ${labelName} is longer than ${max} characters (limit maxLabelValueLength)`;
}

/** HELP text escapes: `\\` and `\n`; any other backslash is kept as written (as the Go parser does). */
function unescapeHelp(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/**
 * Parses Prometheus text exposition format 0.0.4 into metric families in order of first appearance, in time linear
 * in the text. Bad input throws CodecError PROM_RELAY_CODEC_EXPOSITION with 1-based `line` and `column`; a label set
 * beyond `options.limits` throws PROM_RELAY_CODEC_LIMIT (also with line and column) before the excess is kept.
 */
export function parseExposition(text: string, options: ParseExpositionOptions = {}): MetricFamily[] {
  if (typeof text !== 'string') {
    throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `parseExposition needs a string, got ${typeof text}`);
  }
  return new ExpositionParser(options.limits).parse(text);
}
