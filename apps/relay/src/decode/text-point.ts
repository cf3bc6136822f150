// The points the text decoder (text.ts) makes: their labels parsed from the series text on first use (the aggregate
// needs them only for series it has not seen), and the identity hash the duplicate check reads.
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType, InputPoint } from '../model.js';
import { isNameChar, skipBlanksIn } from './text-lexing.js';

/**
 * The identity hash of a point this decoder made, when the duplicate check leaves out exactly the labels its headers
 * override (`job` and the grouping labels, as validateBatch does); otherwise undefined.
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
}

/** Whether `overridden` is exactly `job` plus the header's grouping names. */
function overridesHeader(header: HeaderLabels, overridden: ReadonlySet<string>): boolean {
  if (header.sameOverridden === overridden) return true;
  if (header.otherOverridden === overridden) return false;
  const names = new Set(['job', ...header.groupingNames]);
  let same = names.size === overridden.size;
  if (same) for (const n of names) if (!overridden.has(n)) same = false;
  if (same) header.sameOverridden = overridden;
  else header.otherOverridden = overridden;
  return same;
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
    return overridesHeader(this.header, overridden) ? this.identityHash : undefined;
  }

  get labels(): Labels {
    return (this.parsed ??= labelsFromSeries(this.key, this.header));
  }

  toJSON(): InputPoint {
    return { family: this.family, type: this.type, labels: this.labels, value: this.value, key: this.key };
  }
}

/** Labels of a validated series text `name{a="x",...}`: escapes resolved, empty values dropped, header labels last. */
function labelsFromSeries(text: string, header: HeaderLabels): Labels {
  let pos = 0;
  while (pos < text.length && isNameChar(text.charCodeAt(pos), true)) pos++;
  const labels: Labels = { __name__: text.slice(0, pos) };
  pos = skipBlanksIn(text, pos);
  if (text.charCodeAt(pos) === 123) {
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
      let value = '';
      let runStart = pos;
      for (;;) {
        const c = text.charCodeAt(pos);
        if (c === 34) break;
        if (c === 92) {
          value += text.slice(runStart, pos);
          const next = text.charCodeAt(pos + 1);
          value += next === 110 ? '\n' : next === 34 ? '"' : '\\';
          pos += 2;
          runStart = pos;
          continue;
        }
        pos++;
      }
      value += text.slice(runStart, pos);
      pos++; // closing quote
      if (value !== '') {
        if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
        else labels[name] = value;
      }
      pos = skipBlanksIn(text, pos);
      if (text.charCodeAt(pos) === 44) pos++;
    }
  }
  // Header labels override the body's, as Pushgateway does.
  labels['job'] = header.job;
  for (const g of header.groupingNames) labels[g] = header.grouping[g]!;
  return labels;
}
