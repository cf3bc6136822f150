import { isValidLabelName } from '@prom-relay/codec';
import { AggregateError } from './errors.js';
import { SeriesSelector } from './selector.js';

export const AGGREGATION_OUTPUTS = ['total', 'sum', 'last', 'min', 'max', 'avg', 'count', 'histogram'] as const;
export type AggregationOutput = (typeof AGGREGATION_OUTPUTS)[number];
/** What a rule may declare its inputs to be, whatever their `# TYPE` (or Remote Write metadata) says. */
export const INPUT_TYPES = ['counter', 'gauge'] as const;
export type DeclaredInputType = (typeof INPUT_TYPES)[number];

/** A stream aggregation rule on the model of VictoriaMetrics (`match`, `by`/`without`, `outputs`). */
export interface AggregationRule {
  /** Metric name or series selector, e.g. `{__name__=~"http_.*",env="prod"}`; `__name__` also matches a histogram's family name. */
  match: string;
  /** Keep only these labels in the output series. */
  by?: string[];
  /** Drop these labels (and the producer labels) from the output series. */
  without?: string[];
  /** Required, unless the rule only declares `inputType`: then matched series feed what they would feed without it. */
  outputs?: AggregationOutput[];
  /**
   * Read matched samples of counter, gauge and untyped families as this type (histograms and summaries keep theirs):
   * `counter` sums them as cumulative counters (a running total of increases per producer), `gauge` keeps the last
   * value. Applies when an input series is first seen; the first rule (in order) that matches it and declares a type
   * decides. It decides the default output of the series (`total` for counters, `last` for gauges).
   */
  inputType?: DeclaredInputType;
  /** Also feed the default output of matched series (default false: matched series only feed the rule). */
  keepInput?: boolean;
  /** Upper bounds for the `histogram` output over non-histogram inputs; default Prometheus' default buckets. */
  buckets?: number[];
}

export interface AggregateLimits {
  /** Output series of this partition aggregate. */
  maxSeries: number;
  /** Output series created by one job (absent: no per-job limit). */
  maxSeriesPerJob?: number;
  /** Labels of an input series, `__name__` included. */
  maxLabelsPerSeries: number;
  /** Length of any label value (not the metric name) of an input series, in UTF-16 code units. */
  maxLabelValueLength: number;
}

export interface AggregateOptions {
  rules: AggregationRule[];
  /** An output series not fed for this long comes out once with a staleness marker and is dropped. */
  seriesTtlMs: number;
  /**
   * The same for counter-like outputs (`total` mode: counters, histogram buckets/_sum/_count, summary _sum/_count, rule
   * `total` and `histogram` over histograms): kept, and flushed, this long after their last feed, so a total outlives
   * the gap between the runs of an hourly or daily job. Default `seriesTtlMs`.
   */
  counterTtlMs?: number;
  /** A producer not heard from for this long is forgotten: its gauges drop out, its counter baselines and last seq go. */
  producerTtlMs: number;
  /** Labels that name a producer and are removed from output series; default `['instance']`. */
  producerLabels?: string[];
  limits: AggregateLimits;
}

export const DEFAULT_PRODUCER_LABELS: readonly string[] = ['instance'];
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface CompiledRule {
  selector: SeriesSelector;
  by: string[] | undefined;
  without: Set<string> | undefined;
  /** Empty for a rule that only declares `inputType`. */
  outputs: AggregationOutput[];
  inputType: DeclaredInputType | undefined;
  keepInput: boolean;
  buckets: number[];
  /** `by_a_b_`, `without_a_` or empty: the middle of `<metric>:<middle><output>`. */
  nameInfix: string;
}

export interface ResolvedOptions {
  rules: CompiledRule[];
  seriesTtlMs: number;
  counterTtlMs: number;
  producerTtlMs: number;
  producerLabels: string[];
  limits: Required<AggregateLimits>;
  /** No rule looks at producer labels, so producers of one job share input series (only baselines are per producer). */
  shareInputs: boolean;
}

const fail = (field: string, what: string): never => {
  throw new AggregateError('PROM_RELAY_AGGREGATE_OPTIONS', `${field}: ${what}`);
};

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value > 0)) fail(field, `expected a positive number, got ${JSON.stringify(value)}`);
  return value as number;
}

function labelList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) return fail(field, 'expected an array of label names');
  for (const [i, name] of value.entries()) {
    if (typeof name !== 'string' || !isValidLabelName(name)) fail(`${field}[${i}]`, `invalid label name ${JSON.stringify(name)}`);
  }
  return [...(value as string[])];
}

/** Validates options once, at construction; errors name the bad field. */
export function resolveOptions(opts: AggregateOptions): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') fail('options', 'expected an object');
  const limits = opts.limits ?? fail('limits', 'required');
  const rules = Array.isArray(opts.rules) ? opts.rules : fail('rules', 'expected an array');
  const producerLabels = opts.producerLabels === undefined ? [...DEFAULT_PRODUCER_LABELS] : labelList(opts.producerLabels, 'producerLabels');
  const compiled = rules.map((rule, i) => compileRule(rule, `rules[${i}]`));
  const shareInputs = !compiled.some(
    (r) => r.by?.some((l) => producerLabels.includes(l)) || r.selector.matchers.some((m) => producerLabels.includes(m.name)),
  );
  return {
    seriesTtlMs: positive(opts.seriesTtlMs, 'seriesTtlMs'),
    counterTtlMs: opts.counterTtlMs === undefined ? positive(opts.seriesTtlMs, 'seriesTtlMs') : positive(opts.counterTtlMs, 'counterTtlMs'),
    producerTtlMs: positive(opts.producerTtlMs, 'producerTtlMs'),
    producerLabels,
    shareInputs,
    limits: {
      maxSeries: positive(limits.maxSeries, 'limits.maxSeries'),
      maxSeriesPerJob: limits.maxSeriesPerJob === undefined ? Infinity : positive(limits.maxSeriesPerJob, 'limits.maxSeriesPerJob'),
      maxLabelsPerSeries: positive(limits.maxLabelsPerSeries, 'limits.maxLabelsPerSeries'),
      maxLabelValueLength: positive(limits.maxLabelValueLength, 'limits.maxLabelValueLength'),
    },
    rules: compiled,
  };
}

/** `rules` compiled as `resolveOptions` compiles them (errors name `rules[i]`). */
export function compileRules(rules: readonly AggregationRule[]): CompiledRule[] {
  return rules.map((rule, i) => compileRule(rule, `rules[${i}]`));
}

function compileRule(rule: AggregationRule, field: string): CompiledRule {
  if (rule === null || typeof rule !== 'object') fail(field, 'expected an object');
  if (typeof rule.match !== 'string') fail(`${field}.match`, 'expected a metric name or selector');
  if (rule.by !== undefined && rule.without !== undefined) fail(field, 'by and without are exclusive');
  if (rule.inputType !== undefined && !(INPUT_TYPES as readonly string[]).includes(rule.inputType)) {
    fail(`${field}.inputType`, `unknown input type ${JSON.stringify(rule.inputType)}; expected one of ${INPUT_TYPES.join(', ')}`);
  }
  const typeOnly = rule.outputs === undefined && rule.inputType !== undefined;
  if (typeOnly) {
    // A type declaration only: matched series feed what they would feed without it, so nothing else applies.
    for (const key of ['by', 'without', 'keepInput', 'buckets'] as const) {
      if (rule[key] !== undefined && rule[key] !== false) fail(`${field}.${key}`, 'needs outputs (a rule with inputType and no outputs only declares the type of its inputs)');
    }
  } else if (!Array.isArray(rule.outputs) || rule.outputs.length === 0) {
    fail(`${field}.outputs`, rule.outputs === undefined ? 'required (or inputType alone, to declare the type of the inputs)' : 'expected a non-empty array');
  }
  const outputs = rule.outputs ?? [];
  for (const [i, o] of outputs.entries()) {
    if (!(AGGREGATION_OUTPUTS as readonly string[]).includes(o)) {
      fail(`${field}.outputs[${i}]`, `unknown output ${JSON.stringify(o)}; expected one of ${AGGREGATION_OUTPUTS.join(', ')}`);
    }
  }
  let buckets = [...DEFAULT_HISTOGRAM_BUCKETS];
  if (rule.buckets !== undefined) {
    if (!Array.isArray(rule.buckets) || rule.buckets.length === 0) fail(`${field}.buckets`, 'expected a non-empty array of numbers');
    buckets = [...rule.buckets];
    for (let i = 0; i < buckets.length; i++) {
      if (typeof buckets[i] !== 'number' || !Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
        fail(`${field}.buckets[${i}]`, 'expected finite, strictly increasing upper bounds');
      }
    }
  }
  const by = rule.by === undefined ? undefined : labelList(rule.by, `${field}.by`);
  const without = rule.without === undefined ? undefined : labelList(rule.without, `${field}.without`);
  let nameInfix = '';
  if (by && by.length > 0) nameInfix = `by_${[...by].sort().join('_')}_`;
  else if (without && without.length > 0) nameInfix = `without_${[...without].sort().join('_')}_`;
  let selector: SeriesSelector;
  try {
    selector = new SeriesSelector(rule.match);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AggregateError('PROM_RELAY_AGGREGATE_SELECTOR', `${field}.match: ${message}`, { cause: error });
  }
  return {
    selector,
    by: by ? [...by].sort() : undefined,
    without: without ? new Set(without) : undefined,
    outputs: [...new Set(outputs)],
    inputType: rule.inputType,
    keepInput: rule.keepInput === true,
    buckets,
    nameInfix,
  };
}
