import { isValidLabelName, isValidMetricName } from '@prom-relay/codec';
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType, InputPoint, Temporality } from '../model.js';
import { DecodeError } from './errors.js';
import { DEFAULT_MAX_JSON_DEPTH, limitOf, type DecodeLimits } from './limits.js';

const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * JSON lines (docs/message-format.md), one sample per line, histograms and summaries as one line each; flattened to
 * points the way text exposition arrives (`x_bucket{le}`, `x_sum`, `x_count`, `x{quantile}`). A line nested deeper
 * than `limits.maxJsonDepth` is refused before JSON.parse sees it; label limits as for text (PROM_RELAY_DECODE_LIMIT).
 */
export function decodeJsonLines(text: string, job: string, grouping: Labels, limits: DecodeLimits = {}): InputPoint[] {
  const points: InputPoint[] = [];
  const groupingNames = Object.keys(grouping);
  const maxDepth = limits.maxJsonDepth === undefined ? DEFAULT_MAX_JSON_DEPTH : limitOf(limits.maxJsonDepth, 'maxJsonDepth');
  const bounds: LabelBounds = {
    maxLabels: limitOf(limits.maxLabelsPerSeries, 'maxLabelsPerSeries'),
    maxValueLength: limitOf(limits.maxLabelValueLength, 'maxLabelValueLength'),
  };
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    line++;
    const raw = text.slice(start, nl).trim();
    start = nl + 1;
    if (raw === '') continue;
    const tooDeep = depthExceeded(raw, maxDepth);
    if (tooDeep !== -1) {
      throw new DecodeError('PROM_RELAY_DECODE_JSON', `line ${line}, column ${tooDeep + 1}: nested deeper than ${maxDepth} (limit maxJsonDepth)`, {
        line,
        column: tooDeep + 1,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      const at = /position (\d+)/.exec(message);
      throw new DecodeError('PROM_RELAY_DECODE_JSON', `line ${line}${at ? `, column ${Number(at[1]) + 1}` : ''}: invalid JSON: ${message}`, {
        cause,
        line,
        ...(at ? { column: Number(at[1]) + 1 } : {}),
      });
    }
    new JsonLine(parsed, line, job, grouping, groupingNames, bounds).flatten(points);
  }
  return points;
}

/**
 * Index of the bracket that opens nesting level `max + 1` in a JSON text, or -1. One linear pass that skips strings;
 * run before JSON.parse, so no later step (parse, messages quoting a value) recurses that deep.
 */
export function depthExceeded(raw: string, max: number): number {
  let depth = 0;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34) {
      // A string: move to its closing quote, past escaped characters.
      for (i++; i < n; i++) {
        const d = raw.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return -1;
}

/** A value for an error message: JSON, cut short (a message never carries a whole hostile value). */
function quote(v: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  if (text === undefined) return String(typeof v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface LabelBounds {
  maxLabels: number;
  maxValueLength: number;
}

class JsonLine {
  constructor(
    private readonly obj: unknown,
    private readonly line: number,
    private readonly job: string,
    private readonly grouping: Labels,
    private readonly groupingNames: string[],
    private readonly bounds: LabelBounds,
  ) {}

  private fail(message: string, code: 'PROM_RELAY_DECODE_JSON' | 'PROM_RELAY_DECODE_LABELS' | 'PROM_RELAY_DECODE_LIMIT' = 'PROM_RELAY_DECODE_JSON'): never {
    throw new DecodeError(code, `line ${this.line}: ${message}`, { line: this.line });
  }

  flatten(points: InputPoint[]): void {
    const o = this.obj;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) this.fail('expected a JSON object');
    const rec = o as Record<string, unknown>;
    const name = rec['name'];
    if (typeof name !== 'string') this.fail('"name" must be a string');
    if (!isValidMetricName(name)) this.fail(`invalid metric name ${quote(name)}`, 'PROM_RELAY_DECODE_LABELS');
    const type = rec['type'] ?? 'untyped';
    if (typeof type !== 'string' || !TYPES.has(type)) this.fail(`"type" must be one of counter, gauge, histogram, summary, untyped; got ${quote(type)}`);
    let temporality: Temporality | undefined;
    if (rec['temporality'] !== undefined) {
      if (rec['temporality'] !== 'cumulative' && rec['temporality'] !== 'delta') this.fail('"temporality" must be "cumulative" or "delta"');
      temporality = rec['temporality'];
    }
    const base = this.labels(rec['labels'], name);
    const t = type as InputMetricType;
    const push = (seriesName: string, value: number, extra?: [string, string]) => {
      const labels: Labels = { ...base, __name__: seriesName };
      if (extra !== undefined) labels[extra[0]] = extra[1];
      labels['job'] = this.job;
      for (const g of this.groupingNames) labels[g] = this.grouping[g]!;
      const p: InputPoint = { family: name, type: t, labels, value };
      if (temporality !== undefined) p.temporality = temporality;
      points.push(p);
    };
    if (t === 'histogram') {
      // Without "buckets" a histogram is its _sum and _count alone, as Prometheus takes one (applied as counters).
      const bucketless = rec['buckets'] === undefined;
      const buckets = bucketless ? [] : this.numberMap(rec['buckets'], 'buckets', true);
      const hasInf = buckets.some(([le]) => le === '+Inf');
      let count = rec['count'] === undefined ? undefined : this.number(rec['count'], 'count');
      if (!hasInf && count === undefined) this.fail(bucketless ? 'a histogram without "buckets" needs a "count"' : 'a histogram needs a "+Inf" bucket or a "count"');
      count ??= buckets.find(([le]) => le === '+Inf')![1];
      for (const [le, v] of buckets) push(`${name}_bucket`, v, ['le', le]);
      if (!hasInf && !bucketless) push(`${name}_bucket`, count, ['le', '+Inf']);
      if (rec['sum'] !== undefined) push(`${name}_sum`, this.number(rec['sum'], 'sum'));
      push(`${name}_count`, count);
      return;
    }
    if (t === 'summary') {
      if (rec['quantiles'] !== undefined) for (const [q, v] of this.numberMap(rec['quantiles'], 'quantiles', false)) push(name, v, ['quantile', q]);
      if (rec['sum'] !== undefined) push(`${name}_sum`, this.number(rec['sum'], 'sum'));
      if (rec['count'] !== undefined) push(`${name}_count`, this.number(rec['count'], 'count'));
      return;
    }
    if (rec['value'] === undefined) this.fail(`"value" is required for a ${t}`);
    push(name, this.number(rec['value'], 'value'));
  }

  private labels(raw: unknown, name: string): Labels {
    const labels: Labels = { __name__: name };
    if (raw === undefined) return labels;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) this.fail('"labels" must be an object of strings');
    const { maxLabels, maxValueLength } = this.bounds;
    let count = 1; // the metric name is one of the series' labels, as the aggregate counts them
    for (const k in raw) {
      if (++count > maxLabels) this.fail(`series ${name} has more than ${maxLabels} labels, its name counted (limit maxLabelsPerSeries)`, 'PROM_RELAY_DECODE_LIMIT');
      const v = (raw as Record<string, unknown>)[k];
      if (typeof v === 'string' && v.length > maxValueLength) {
        this.fail(`value of label ${k} is longer than ${maxValueLength} characters (limit maxLabelValueLength)`, 'PROM_RELAY_DECODE_LIMIT');
      }
    }
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (!isValidLabelName(k) || k === '__name__') this.fail(`invalid label name ${quote(k)}`, 'PROM_RELAY_DECODE_LABELS');
      if (typeof v !== 'string') this.fail(`label ${k} must have a string value, got ${quote(v)}`, 'PROM_RELAY_DECODE_LABELS');
      if (v === '') continue; // an empty value is an absent label
      if (k === '__proto__') Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
      else labels[k] = v;
    }
    return labels;
  }

  private number(v: unknown, field: string): number {
    if (typeof v === 'number') return v;
    if (v === 'NaN') return NaN;
    if (v === '+Inf') return Infinity;
    if (v === '-Inf') return -Infinity;
    return this.fail(`"${field}" must be a number or "NaN", "+Inf", "-Inf"; got ${quote(v)}`);
  }

  /** `{"0.1": 3, "+Inf": 6}`: keys must be numbers as text. */
  private numberMap(raw: unknown, field: string, bounds: boolean): Array<[string, number]> {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) this.fail(`"${field}" must be an object`);
    const out: Array<[string, number]> = [];
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const bound = k === '+Inf' ? Infinity : Number(k);
      if (k.trim() === '' || Number.isNaN(bound) || (!bounds && !Number.isFinite(bound))) this.fail(`"${field}" key ${quote(k)} is not a number`);
      out.push([k, this.number(v, `${field}.${k}`)]);
    }
    if (bounds) out.sort((a, b) => (a[0] === '+Inf' ? Infinity : Number(a[0])) - (b[0] === '+Inf' ? Infinity : Number(b[0])));
    return out;
  }
}
