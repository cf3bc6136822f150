/**
 * Which output series an input series feeds, by name and labels: the rules that match it (VictoriaMetrics-style
 * `<metric>:<infix><output>` names, histogram families merged part by part), else (or also, keepInput) the default
 * output, decided by the input's type: its own, or the one a rule declares (`inputType`). Pure: runs when an input
 * series is first seen, never per point.
 */
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType, InputPoint } from '../model.js';
import { labelsKey, sortedLabelsFrom } from './labels.js';
import { compileRules, DEFAULT_PRODUCER_LABELS, type AggregationRule, type CompiledRule } from './options.js';
import { HAS_GAUGE, HAS_TOTAL, NATIVE, PER_PRODUCER } from './series.js';
import type { InputPlan, OutputMode } from './series.js';

export class Planner {
  /** Rules that declare the type of their inputs, in order. */
  private readonly typed: readonly CompiledRule[];

  constructor(
    private readonly rules: readonly CompiledRule[],
    /** Labels that name a producer: left out of outputs (except summary quantiles) and of histogram instances. */
    private readonly producerLabelSet: ReadonlySet<string>,
  ) {
    this.typed = rules.filter((r) => r.inputType !== undefined);
  }

  /**
   * The type an input series is read as: the `inputType` of the first rule that matches it and declares one, else
   * its own. Histogram and summary parts keep theirs (their buckets, _sum and _count are counters already; quantiles
   * cannot be summed). Called once, when the input series is created: the series keeps the type until it expires.
   */
  inputType(labels: Labels, family: string, type: InputMetricType): InputMetricType {
    if (this.typed.length === 0 || type === 'histogram' || type === 'summary') return type;
    const name = labels['__name__'] ?? family;
    for (const rule of this.typed) {
      if (rule.selector.matches(labels, name) || (family !== name && rule.selector.matches(labels, family))) return rule.inputType!;
    }
    return type;
  }

  /**
   * Which output series an input label set feeds: the rules that match it, else (or also, keepInput) the default.
   * A native histogram (`native`) feeds `native` outputs only: its default one and rules' `histogram` and `total`
   * outputs (the other outputs take plain values; a rule with only those leaves it out).
   */
  plan(labels: Labels, family: string, type: InputMetricType, producerId: string, native = false): InputPlan {
    const name = labels['__name__'] ?? family;
    const plan: InputPlan = { specs: [], flags: 0 };
    let matched = false;
    let keepDefault = false;
    for (const rule of this.rules) {
      // A rule with no outputs only declares a type (inputType): matched series feed what they would without it.
      if (rule.outputs.length === 0) continue;
      if (!rule.selector.matches(labels, name) && !(family !== name && rule.selector.matches(labels, family))) continue;
      matched = true;
      if (rule.keepInput) keepDefault = true;
      const grouped: Array<[string, string]> = [];
      if (rule.by !== undefined) {
        for (const l of rule.by) if (Object.hasOwn(labels, l) && l !== '__name__') grouped.push([l, labels[l]!]);
      } else if (rule.without !== undefined) {
        for (const l of Object.keys(labels)) {
          if (l !== '__name__' && !rule.without.has(l) && !this.producerLabelSet.has(l)) grouped.push([l, labels[l]!]);
        }
      }
      for (const output of rule.outputs) {
        if (native) {
          if (output === 'histogram' || output === 'total') addSpec(plan, [...grouped, ['__name__', `${name}:${rule.nameInfix}${output}`]], 'native', null, true);
        } else if (output === 'histogram') {
          const part = type === 'histogram' ? histogramPart(name, family) : null;
          if (part !== null) {
            const entries = [...grouped, ['__name__', `${family}:${rule.nameInfix}histogram${part}`] as [string, string]];
            if (part === '_bucket' && labels['le'] !== undefined && !entries.some((e) => e[0] === 'le')) entries.push(['le', labels['le']]);
            addSpec(plan, entries, 'total', null, true);
          } else {
            addSpec(plan, [...grouped, ['__name__', `${name}:${rule.nameInfix}histogram`]], 'valueHistogram', rule.buckets, true);
          }
        } else {
          addSpec(plan, [...grouped, ['__name__', `${name}:${rule.nameInfix}${output}`]], output, null, true);
        }
      }
    }
    if (!matched || keepDefault) {
      const entries: Array<[string, string]> = [];
      const quantile = type === 'summary' && name !== family + '_sum' && name !== family + '_count';
      let hasProducerLabel = false;
      for (const l of Object.keys(labels)) {
        if (this.producerLabelSet.has(l)) {
          hasProducerLabel = true;
          if (!quantile) continue;
        }
        entries.push([l, labels[l]!]);
      }
      if (native) {
        addSpec(plan, entries, 'native', null, false);
      } else if (quantile) {
        // Quantiles cannot be merged: one series per producer, named by its producer label or its id.
        plan.flags |= PER_PRODUCER;
        if (!hasProducerLabel) entries.push(['producer', producerId]);
        addSpec(plan, entries, 'last', null, false);
      } else {
        addSpec(plan, entries, type === 'counter' || type === 'histogram' || type === 'summary' ? 'total' : 'last', null, false);
      }
    }
    return plan;
  }

  /** The histogram/summary instance a point belongs to (family + labels without le/quantile/producer labels). */
  groupKeyOf(labels: Labels, family: string): string {
    let key = family + '\u0000';
    for (const name of Object.keys(labels).sort()) {
      if (name === '__name__' || name === 'le' || name === 'quantile' || this.producerLabelSet.has(name)) continue;
      key += name + '=' + JSON.stringify(labels[name]) + ',';
    }
    return key;
  }
}

/** Aggregation rules as plain data (they cross to the ingest's worker thread), for `readsAsTotal`. */
export interface TotalRules {
  rules: AggregationRule[];
  producerLabels?: string[];
}

const totalsCache = new Map<string, ((point: InputPoint) => boolean) | null>();
const totalsByObject = new WeakMap<TotalRules, ((point: InputPoint) => boolean) | null>();

/**
 * For the HTTP ingest: whether these rules read a point that is not counter-like (a gauge, untyped, a summary
 * quantile) as a running total, as the aggregate's input series would (`inputType: counter`, a `total` output): the
 * aggregate refuses such a point's value outside 0..1e300, so the ingest must not answer 2xx for it. Null when no
 * rule can. Compiled once per rule set.
 */
export function readsAsTotal(totals: TotalRules): ((point: InputPoint) => boolean) | null {
  const same = totalsByObject.get(totals);
  if (same !== undefined) return same;
  // a copy (the worker thread gets one per task): by its text
  const id = JSON.stringify(totals);
  const known = totalsCache.get(id);
  if (known !== undefined) {
    totalsByObject.set(totals, known);
    return known;
  }
  const rules = compileRules(totals.rules);
  let check: ((point: InputPoint) => boolean) | null = null;
  if (rules.some((r) => r.inputType === 'counter' || r.outputs.includes('total'))) {
    const planner = new Planner(rules, new Set(totals.producerLabels ?? DEFAULT_PRODUCER_LABELS));
    check = (point) => {
      if (point.histogram !== undefined) return false;
      const type = planner.inputType(point.labels, point.family, point.type);
      return (planner.plan(point.labels, point.family, type, '').flags & HAS_TOTAL) !== 0;
    };
  }
  if (totalsCache.size >= 16) totalsCache.clear();
  totalsCache.set(id, check);
  totalsByObject.set(totals, check);
  return check;
}

/** Outputs of different modes may share labels (a rule's `last` and a default gauge cannot: names differ, but be safe). */
export function outputKey(labels: Labels, mode: OutputMode): string {
  return mode === 'total' || mode === 'last' ? labelsKey(labels) : `${mode}\u0000${labelsKey(labels)}`;
}

function addSpec(plan: InputPlan, entries: Array<[string, string]>, mode: OutputMode, buckets: number[] | null, rule: boolean): void {
  const labels = sortedLabelsFrom(entries);
  const key = outputKey(labels, mode);
  if (plan.specs.some((s) => s.key === key)) return;
  plan.specs.push({ key, labels, mode, buckets, rule });
  plan.flags |= mode === 'total' ? HAS_TOTAL : mode === 'native' ? NATIVE : HAS_GAUGE;
}

/** `_bucket`, `_sum` or `_count` when `name` is that part of histogram `family`. */
function histogramPart(name: string, family: string): string | null {
  if (name.length <= family.length || !name.startsWith(family)) return null;
  const suffix = name.slice(family.length);
  return suffix === '_bucket' || suffix === '_sum' || suffix === '_count' ? suffix : null;
}
