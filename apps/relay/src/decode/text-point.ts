// The points the text decoder (text.ts) makes: their labels parsed from the series text on first use (the aggregate
// needs them only for series it has not seen), and the identity hash the duplicate check reads.
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType, InputPoint } from '../model.js';
import { isNameChar, skipBlanksIn } from './text-lexing.js';

/**
 * The identity hash of a point this decoder made, when the duplicate check leaves out exactly the labels its headers
 * override (`job` and the grouping labels, as validateBatch does), or fewer of them and no series of the message wrote
 * one (then leaving any of them out changes nothing); otherwise undefined.
 */
export function textIdentityHash(p: InputPoint, overridden: ReadonlySet<string>): number | undefined {
  if (!(p instanceof TextPoint)) return undefined;
  return p.identityHashFor(overridden);
}

/** The labels every point of one message gets from its headers. */
export interface HeaderLabels {
  job: string;
  grouping: Labels;
  groupingNames: string[];
  /** a set found equal to `job` plus the grouping names (the identity hashes' overridden labels) */
  sameOverridden?: ReadonlySet<string>;
  /** the last set found different (the aggregate asks with one set per scope, point after point of the message) */
  otherOverridden?: ReadonlySet<string>;
  /** whether `otherOverridden` names only `job` and grouping labels */
  otherWithin?: boolean;
  /**
   * A series of the message wrote a (non-empty) label its headers override: its hash leaves that label out, so it
   * serves only the header's own set. Set by the decoder while it parses, read once the message is decoded.
   */
  bodyOverrides?: boolean;
}

/**
 * Whether the points' hashes serve `overridden`: it is exactly `job` plus the header's grouping names, or (no series
 * of the message wrote one of those) only some of them, e.g. a scope that leaves producer labels out of its own set.
 */
function hashServes(header: HeaderLabels, overridden: ReadonlySet<string>): boolean {
  if (header.sameOverridden === overridden) return true;
  if (header.otherOverridden !== overridden) {
    const names = new Set(['job', ...header.groupingNames]);
    let within = true;
    for (const n of overridden) if (!names.has(n)) within = false;
    if (within && names.size === overridden.size) {
      header.sameOverridden = overridden;
      return true;
    }
    header.otherOverridden = overridden;
    header.otherWithin = within;
  }
  return header.otherWithin === true && header.bodyOverrides !== true;
}

/**
 * The key of a keyed point in a scope that leaves the labels `names` out of its inputs (producer labels the headers
 * set, which override the body's): the key as written without those labels where the body wrote them, else the key
 * itself. A body that writes `instance` beside a header that sets it would otherwise make its series another input
 * than the same series carried as labels (Remote Write, JSON lines), whose key leaves `instance` out.
 */
export function keyInScope(p: InputPoint, names: ReadonlySet<string>): string {
  const key = p.key!;
  // A text point knows whether any series of its message wrote a label its headers set; another keyed point (made by
  // hand: every message is decoded by decodeRecord, forwarded ones at their home) is checked by name.
  if (p instanceof TextPoint && !p.bodyOverrides) return key;
  for (const name of names) if (key.includes(name)) return withoutLabels(key, names);
  return key;
}

/** A validated series text `name{a="x",...}` without the labels `names` (the others as written); itself when it has none of them. */
export function withoutLabels(text: string, names: ReadonlySet<string>): string {
  const kept: string[] = [];
  let removed = false;
  const metricEnd = eachPair(text, (name, _valueAt, _valueEnd, pairAt, pairEnd) => {
    if (names.has(name)) removed = true;
    else kept.push(text.slice(pairAt, pairEnd));
  });
  if (!removed) return text;
  const metric = text.slice(0, metricEnd);
  return kept.length === 0 ? metric : `${metric}{${kept.join(',')}}`;
}

/**
 * A point of the text decoder. Its labels are parsed from the series text (`key`, already validated) on first use:
 * the aggregate needs them only for series it has not seen. Being a getter, `labels` is not copied by object spread.
 */
export class TextPoint implements InputPoint {
  private parsed: Labels | undefined;

  constructor(
    readonly family: string,
    readonly type: InputMetricType,
    readonly value: number,
    readonly key: string,
    private readonly header: HeaderLabels,
    private readonly identityHash: number,
  ) {}

  identityHashFor(overridden: ReadonlySet<string>): number | undefined {
    return hashServes(this.header, overridden) ? this.identityHash : undefined;
  }

  /** Whether a series of its message wrote a label its headers override. */
  get bodyOverrides(): boolean {
    return this.header.bodyOverrides === true;
  }

  get labels(): Labels {
    return (this.parsed ??= labelsFromSeries(this.key, this.header));
  }

  toJSON(): InputPoint {
    return { family: this.family, type: this.type, labels: this.labels, value: this.value, key: this.key };
  }
}

/**
 * The label pairs of a validated series text `name{a="x",...}` in order: `visit` gets each name, the range of its value
 * as written (escapes in it, between the quotes) and the range of the whole pair. Answers where the metric name ends.
 */
function eachPair(text: string, visit: (name: string, valueAt: number, valueEnd: number, pairAt: number, pairEnd: number) => void): number {
  let pos = 0;
  while (pos < text.length && isNameChar(text.charCodeAt(pos), true)) pos++;
  const metricEnd = pos;
  pos = skipBlanksIn(text, pos);
  if (text.charCodeAt(pos) !== 123) return metricEnd;
  pos++;
  for (;;) {
    pos = skipBlanksIn(text, pos);
    if (pos >= text.length || text.charCodeAt(pos) === 125) break;
    const nameAt = pos;
    while (isNameChar(text.charCodeAt(pos), false)) pos++;
    const name = text.slice(nameAt, pos);
    pos = skipBlanksIn(text, pos);
    pos++; // =
    pos = skipBlanksIn(text, pos);
    pos++; // opening quote
    const valueAt = pos;
    for (let c = text.charCodeAt(pos); c !== 34; c = text.charCodeAt(pos)) pos += c === 92 ? 2 : 1;
    const valueEnd = pos;
    pos++; // closing quote
    visit(name, valueAt, valueEnd, nameAt, pos);
    pos = skipBlanksIn(text, pos);
    if (text.charCodeAt(pos) === 44) pos++;
  }
  return metricEnd;
}

/** A label value as written (between its quotes) with \\, \" and \n resolved. */
function unescapeValue(text: string, from: number, to: number): string {
  let value = '';
  let runStart = from;
  for (let pos = from; pos < to; ) {
    if (text.charCodeAt(pos) !== 92) {
      pos++;
      continue;
    }
    value += text.slice(runStart, pos);
    const next = text.charCodeAt(pos + 1);
    value += next === 110 ? '\n' : next === 34 ? '"' : '\\';
    pos += 2;
    runStart = pos;
  }
  return value + text.slice(runStart, to);
}

/** Labels of a validated series text `name{a="x",...}`: escapes resolved, empty values dropped, header labels last. */
function labelsFromSeries(text: string, header: HeaderLabels): Labels {
  let nameEnd = 0;
  while (nameEnd < text.length && isNameChar(text.charCodeAt(nameEnd), true)) nameEnd++;
  const labels: Labels = { __name__: text.slice(0, nameEnd) };
  eachPair(text, (name, valueAt, valueEnd) => {
    const value = unescapeValue(text, valueAt, valueEnd);
    if (value === '') return;
    if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    else labels[name] = value;
  });
  // Header labels override the body's, as Pushgateway does.
  labels['job'] = header.job;
  for (const g of header.groupingNames) labels[g] = header.grouping[g]!;
  return labels;
}
