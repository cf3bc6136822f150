import type { Labels } from '@prom-relay/codec';
import type { IngestBatch, InputMetricType, InputPoint, OutputSample } from '../model.js';
import { AggregateError } from './errors.js';
import { labelsKey, ownString, ownedSortedLabels, sortedLabelsFrom } from './labels.js';
import { resolveOptions } from './options.js';
import type { AggregateOptions, ResolvedOptions } from './options.js';

/** How an output series turns its inputs into one value. */
export type OutputMode = 'total' | 'last' | 'sum' | 'min' | 'max' | 'avg' | 'count' | 'valueHistogram';

export type LimitKind = 'maxSeries' | 'maxSeriesPerJob' | 'maxLabelsPerSeries' | 'maxLabelValueLength';

export interface ApplyResult {
  /** Points applied. */
  accepted: number;
  /** The whole batch was ignored: its producer already sent this sequence number or a later one. */
  duplicate: boolean;
  /** Points ignored as duplicates (all of the batch's points when `duplicate`). */
  duplicates: number;
  /** Points not applied: a limit hit, an invalid value, or a sibling of their histogram/summary was rejected. */
  rejected: number;
  /** Points whose value a counter cannot take (negative or NaN cumulative value or delta). */
  invalid: number;
  /** Series creations refused, by limit. */
  limitHits: Record<LimitKind, number>;
}

const GAUGE_MODES: ReadonlySet<OutputMode> = new Set(['last', 'sum', 'min', 'max', 'avg', 'count', 'valueHistogram']);

/** One output series: what the flush sends. */
class OutputSeries {
  dropped = false;
  /** total: running total; last: the latest value. */
  value = 0;
  /** Update order of the contribution `value` came from (mode `last`). */
  tick = 0;
  readonly contribs: Set<Contribution> | null;
  /** valueHistogram: label sets of `_bucket`..., `_sum`, `_count`. */
  readonly parts: Labels[] | null;

  constructor(
    readonly key: string,
    readonly labels: Labels,
    readonly mode: OutputMode,
    readonly job: string,
    public lastFed: number,
    readonly buckets: number[] | null,
  ) {
    this.contribs = GAUGE_MODES.has(mode) ? new Set() : null;
    this.parts = mode === 'valueHistogram' ? histogramParts(labels, buckets!) : null;
  }
}

/** One input series (label set as decoded) of one job + grouping scope. */
class InputSeries {
  targets: OutputSeries[] | null = null;
  /** Producers holding a contribution to this input; the input is kept while any does. */
  contribCount = 0;
  constructor(
    readonly scope: Scope,
    readonly key: string,
    readonly labels: Labels,
    readonly family: string,
    readonly type: InputMetricType,
    readonly hasTotal: boolean,
    readonly hasGauge: boolean,
    /** Summary quantiles without a producer label: each producer gets its own output series. */
    readonly perProducer: boolean,
    /** Histogram/summary instance (family + labels without le/quantile) for atomic rejection. */
    readonly groupKey: string | null,
    public lastFed: number,
  ) {}
}

/** One producer's state for one input series: the counter baseline and the gauge value. */
class Contribution {
  value = 0;
  lastFed = 0;
  tick = 0;
  fed = false;
  inGauges = false;
  /** perProducer inputs: this producer's own output series. */
  targets: OutputSeries[] | null = null;
  constructor(
    readonly producer: ProducerState,
    readonly input: InputSeries,
  ) {}
}

class ProducerState {
  lastSeq = -1;
  readonly contribs = new Map<InputSeries, Contribution>();
  constructor(
    readonly id: string,
    readonly job: string,
    public lastSeen: number,
  ) {}
}

/** Input series of one job + grouping label set, looked up by the point key. */
interface Scope {
  readonly key: string;
  readonly inputs: Map<string, InputSeries>;
}

interface OutputSpec {
  key: string;
  labels: Labels;
  mode: OutputMode;
  buckets: number[] | null;
}

interface InputPlan {
  specs: OutputSpec[];
  hasTotal: boolean;
  hasGauge: boolean;
  perProducer: boolean;
}

const STATE_FORMAT = 'prom-relay.aggregate';
const NEVER_FED = -Infinity;

/**
 * The aggregation state of one Kafka partition: counters as running totals of increases over all producers, gauges
 * last (or rule outputs across producers), histograms merged like counters, summaries per producer. Not thread-shared,
 * synchronous: `apply` of one batch is atomic with respect to `collect` and `toState`.
 */
export class PartitionAggregate {
  private readonly opts: ResolvedOptions;
  private readonly producerLabelSet: ReadonlySet<string>;
  private readonly outputs = new Map<string, OutputSeries>();
  private readonly scopes = new Map<string, Scope>();
  private readonly producers = new Map<string, ProducerState>();
  private readonly seriesPerJob = new Map<string, number>();
  private tick = 0;
  private scratch: Array<OutputSeries[] | null> = [];
  private scratchInputs: Array<InputSeries | null> = [];

  constructor(opts: AggregateOptions) {
    this.opts = resolveOptions(opts);
    this.producerLabelSet = new Set(this.opts.producerLabels);
  }

  get seriesCount(): number {
    return this.outputs.size;
  }

  /** Producers currently remembered (for metrics). */
  get producerCount(): number {
    return this.producers.size;
  }

  apply(batch: IngestBatch, now: number): ApplyResult {
    const result: ApplyResult = {
      accepted: 0,
      duplicate: false,
      duplicates: 0,
      rejected: 0,
      invalid: 0,
      limitHits: { maxSeries: 0, maxSeriesPerJob: 0, maxLabelsPerSeries: 0, maxLabelValueLength: 0 },
    };
    let producer = this.producers.get(batch.producerId);
    const seq = batch.sequence;
    if (producer !== undefined && seq !== undefined && seq <= producer.lastSeq) {
      result.duplicate = true;
      result.duplicates = batch.points.length;
      return result;
    }
    if (producer === undefined) {
      producer = new ProducerState(ownString(batch.producerId), ownString(batch.job), now);
      this.producers.set(producer.id, producer);
    }
    producer.lastSeen = now;
    if (seq !== undefined) producer.lastSeq = seq;
    if (batch.op === 'delete') {
      this.endProducerGauges(producer);
      return result;
    }

    const scope = this.scopeOf(batch);
    const points = batch.points;
    const n = points.length;
    if (this.scratch.length < n) {
      this.scratch.length = n;
      this.scratchInputs.length = n;
    }
    const scratch = this.scratch;
    const scratchInputs = this.scratchInputs;
    let rejectedGroups: Set<string> | null = null;

    // Phase 1: resolve every point to its output series (creating series, checking limits) without changing values.
    for (let i = 0; i < n; i++) {
      const point = points[i]!;
      scratch[i] = null;
      scratchInputs[i] = null;
      const key = point.key ?? labelsKey(point.labels);
      let input = scope.inputs.get(key);
      let failure: LimitKind | 'invalid' | null = null;
      if (input === undefined) {
        const created = this.createInput(scope, key, point, batch.job);
        if (typeof created === 'string') failure = created;
        else input = created;
      }
      let targets: OutputSeries[] | null = null;
      if (input !== undefined) {
        if (input.perProducer) {
          let c = producer.contribs.get(input);
          if (c === undefined) c = this.addContribution(producer, input);
          targets = c.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.retarget(input, producer.id, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = c.targets = t;
          }
        } else {
          targets = input.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.retarget(input, producer.id, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = input.targets = t;
          }
        }
        if (failure === null && input.hasTotal && !(point.value >= 0)) failure = 'invalid';
      }
      if (failure !== null) {
        result.rejected++;
        if (failure === 'invalid') result.invalid++;
        else result.limitHits[failure]++;
        if (point.type === 'histogram' || point.type === 'summary') {
          (rejectedGroups ??= new Set()).add(input?.groupKey ?? groupKeyOf(point.labels, point.family));
        }
        continue;
      }
      scratch[i] = targets;
      scratchInputs[i] = input!;
    }

    // Phase 2: feed. Nothing here can fail, so a histogram's buckets, _sum and _count move together.
    for (let i = 0; i < n; i++) {
      const targets = scratch[i];
      if (targets === null || targets === undefined) continue;
      const input = scratchInputs[i]!;
      scratch[i] = null;
      scratchInputs[i] = null;
      if (rejectedGroups !== null && input.groupKey !== null && rejectedGroups.has(input.groupKey)) {
        result.rejected++;
        continue;
      }
      const point = points[i]!;
      this.feed(producer, input, targets, point.value, (point.temporality ?? batch.temporality) === 'delta', now);
      result.accepted++;
    }
    return result;
  }

  private feed(producer: ProducerState, input: InputSeries, targets: OutputSeries[], v: number, delta: boolean, now: number): void {
    let c = producer.contribs.get(input);
    if (c === undefined) c = this.addContribution(producer, input);
    let increase = 0;
    if (input.hasTotal) {
      // A new producer starts at zero; a drop is a reset: the new value is all increase.
      increase = delta || !c.fed || v < c.value ? v : v - c.value;
    }
    c.value = v;
    c.lastFed = now;
    c.fed = true;
    const tick = ++this.tick;
    c.tick = tick;
    input.lastFed = now;
    for (let j = 0; j < targets.length; j++) {
      const t = targets[j]!;
      t.lastFed = now;
      if (t.contribs === null) {
        t.value += increase;
      } else {
        t.contribs.add(c);
        c.inGauges = true;
        if (t.mode === 'last') {
          t.value = v;
          t.tick = tick;
        }
      }
    }
  }

  private addContribution(producer: ProducerState, input: InputSeries): Contribution {
    const c = new Contribution(producer, input);
    producer.contribs.set(input, c);
    input.contribCount++;
    return c;
  }

  private scopeOf(batch: IngestBatch): Scope {
    let key = batch.job;
    const grouping = batch.grouping;
    const names = Object.keys(grouping);
    if (names.length > 0) {
      if (names.length > 1) names.sort();
      for (const name of names) key += '\u0000' + name + '\u0000' + grouping[name];
    }
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = { key: ownString(key), inputs: new Map() };
      this.scopes.set(scope.key, scope);
    }
    return scope;
  }

  private createInput(scope: Scope, key: string, point: InputPoint, job: string): InputSeries | LimitKind {
    const labels = point.labels;
    let count = 0;
    for (const name in labels) {
      count++;
      // The metric name is schema, not cardinality: only label values count against the length limit.
      if (labels[name]!.length > this.opts.limits.maxLabelValueLength && name !== '__name__') return 'maxLabelValueLength';
    }
    if (count > this.opts.limits.maxLabelsPerSeries) return 'maxLabelsPerSeries';
    const owned = ownedSortedLabels(labels);
    const family = ownString(point.family);
    const plan = this.plan(owned, family, point.type, '');
    const groupKey = point.type === 'histogram' || point.type === 'summary' ? groupKeyOf(owned, family) : null;
    const input = new InputSeries(scope, ownString(key), owned, family, point.type, plan.hasTotal, plan.hasGauge, plan.perProducer, groupKey, 0);
    scope.inputs.set(input.key, input);
    return input;
  }

  /** (Re)builds the output series an input feeds; refuses, creating nothing, when a limit would be passed. */
  private retarget(input: InputSeries, producerId: string, job: string): OutputSeries[] | LimitKind {
    const plan = this.plan(input.labels, input.family, input.type, producerId);
    const fresh: OutputSpec[] = [];
    for (const spec of plan.specs) {
      if (!this.outputs.has(spec.key) && !fresh.some((f) => f.key === spec.key)) fresh.push(spec);
    }
    if (fresh.length > 0) {
      if (this.outputs.size + fresh.length > this.opts.limits.maxSeries) return 'maxSeries';
      const jobCount = this.seriesPerJob.get(job) ?? 0;
      if (jobCount + fresh.length > this.opts.limits.maxSeriesPerJob) return 'maxSeriesPerJob';
      for (const spec of fresh) this.addOutput(new OutputSeries(spec.key, spec.labels, spec.mode, job, NEVER_FED, spec.buckets));
    }
    return plan.specs.map((spec) => this.outputs.get(spec.key)!);
  }

  private addOutput(series: OutputSeries): void {
    this.outputs.set(series.key, series);
    this.seriesPerJob.set(series.job, (this.seriesPerJob.get(series.job) ?? 0) + 1);
  }

  private dropOutput(series: OutputSeries): void {
    series.dropped = true;
    this.outputs.delete(series.key);
    const left = (this.seriesPerJob.get(series.job) ?? 1) - 1;
    if (left <= 0) this.seriesPerJob.delete(series.job);
    else this.seriesPerJob.set(series.job, left);
  }

  /** Which output series an input label set feeds: the rules that match it, else (or also, keepInput) the default. */
  private plan(labels: Labels, family: string, type: InputMetricType, producerId: string): InputPlan {
    const name = labels['__name__'] ?? family;
    const plan: InputPlan = { specs: [], hasTotal: false, hasGauge: false, perProducer: false };
    let matched = false;
    let keepDefault = false;
    for (const rule of this.opts.rules) {
      if (!rule.selector.matches(labels, name) && !(family !== name && rule.selector.matches(labels, family))) continue;
      matched = true;
      if (rule.keepInput) keepDefault = true;
      const grouped: Array<[string, string]> = [];
      if (rule.by !== undefined) {
        for (const l of rule.by) if (labels[l] !== undefined && l !== '__name__') grouped.push([l, labels[l]!]);
      } else if (rule.without !== undefined) {
        for (const l of Object.keys(labels)) {
          if (l !== '__name__' && !rule.without.has(l) && !this.producerLabelSet.has(l)) grouped.push([l, labels[l]!]);
        }
      }
      for (const output of rule.outputs) {
        if (output === 'histogram') {
          const part = type === 'histogram' ? histogramPart(name, family) : null;
          if (part !== null) {
            const entries = [...grouped, ['__name__', `${family}:${rule.nameInfix}histogram${part}`] as [string, string]];
            if (part === '_bucket' && labels['le'] !== undefined && !entries.some((e) => e[0] === 'le')) entries.push(['le', labels['le']]);
            this.addSpec(plan, entries, 'total', null);
          } else {
            const entries = [...grouped, ['__name__', `${name}:${rule.nameInfix}histogram`] as [string, string]];
            this.addSpec(plan, entries, 'valueHistogram', rule.buckets);
          }
        } else {
          const entries = [...grouped, ['__name__', `${name}:${rule.nameInfix}${output}`] as [string, string]];
          this.addSpec(plan, entries, output, null);
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
      if (quantile) {
        // Quantiles cannot be merged: one series per producer, named by its producer label or its id.
        if (!hasProducerLabel) {
          plan.perProducer = true;
          entries.push(['producer', producerId]);
        }
        this.addSpec(plan, entries, 'last', null);
      } else {
        this.addSpec(plan, entries, type === 'counter' || type === 'histogram' || type === 'summary' ? 'total' : 'last', null);
      }
    }
    return plan;
  }

  private addSpec(plan: InputPlan, entries: Array<[string, string]>, mode: OutputMode, buckets: number[] | null): void {
    const labels = sortedLabelsFrom(entries);
    const key = mode === 'total' || mode === 'last' ? labelsKey(labels) : `${mode}\u0000${labelsKey(labels)}`;
    if (plan.specs.some((s) => s.key === key)) return;
    plan.specs.push({ key, labels, mode, buckets });
    if (mode === 'total') plan.hasTotal = true;
    else plan.hasGauge = true;
  }

  /** `op: delete`: the producer's group ends; its gauges drop out, its counter totals stay. */
  private endProducerGauges(producer: ProducerState): void {
    for (const c of producer.contribs.values()) {
      this.leaveGauges(c);
      if (!c.input.hasTotal) {
        producer.contribs.delete(c.input);
        c.input.contribCount--;
      }
    }
  }

  private leaveGauges(c: Contribution): void {
    if (!c.inGauges) return;
    c.inGauges = false;
    const targets = c.targets ?? c.input.targets;
    if (targets === null) return;
    for (const t of targets) {
      if (t.contribs !== null && t.contribs.delete(c) && t.mode === 'last' && t.tick === c.tick) recomputeLast(t);
    }
  }

  private forgetProducer(producer: ProducerState): void {
    for (const c of producer.contribs.values()) {
      this.leaveGauges(c);
      c.input.contribCount--;
    }
    producer.contribs.clear();
    this.producers.delete(producer.id);
  }

  /**
   * Every active output series, one sample each (a `histogram` output over plain values: its `_bucket`s, `_sum` and
   * `_count`). A series not fed for `seriesTtlMs`, or a gauge whose producers all ended, comes out once with
   * `stale: true` and is dropped; producers silent for `producerTtlMs` are forgotten.
   */
  collect(now: number): OutputSample[] {
    const ttl = this.opts.seriesTtlMs;
    const out: OutputSample[] = [];
    for (const s of this.outputs.values()) {
      if (s.lastFed === NEVER_FED) {
        // Created for a batch whose histogram was then rejected: never shown, so it ends silently.
        this.dropOutput(s);
        continue;
      }
      if (now - s.lastFed >= ttl) {
        this.emitStale(s, out);
        continue;
      }
      const contribs = s.contribs;
      if (contribs === null) {
        out.push({ labels: s.labels, value: s.value });
        continue;
      }
      let expiredLast = false;
      for (const c of contribs) {
        if (now - c.lastFed >= ttl) {
          contribs.delete(c);
          if (c.tick === s.tick) expiredLast = true;
        }
      }
      if (contribs.size === 0) {
        this.emitStale(s, out);
        continue;
      }
      if (s.mode === 'last') {
        if (expiredLast) recomputeLast(s);
        out.push({ labels: s.labels, value: s.value });
      } else if (s.mode === 'valueHistogram') {
        emitValueHistogram(s, out);
      } else {
        out.push({ labels: s.labels, value: gaugeValue(s.mode, contribs) });
      }
    }
    this.sweep(now);
    return out;
  }

  private emitStale(s: OutputSeries, out: OutputSample[]): void {
    if (s.parts !== null) for (const labels of s.parts) out.push({ labels, value: NaN, stale: true });
    else out.push({ labels: s.labels, value: NaN, stale: true });
    this.dropOutput(s);
  }

  private sweep(now: number): void {
    const producerTtl = this.opts.producerTtlMs;
    for (const p of this.producers.values()) {
      if (now - p.lastSeen >= producerTtl) this.forgetProducer(p);
    }
    const ttl = this.opts.seriesTtlMs;
    for (const scope of this.scopes.values()) {
      for (const input of scope.inputs.values()) {
        if (input.contribCount === 0 && now - input.lastFed >= ttl) scope.inputs.delete(input.key);
      }
      if (scope.inputs.size === 0) this.scopes.delete(scope.key);
    }
  }

  /** Compact JSON-serialisable state: arrays, indices instead of references. */
  toState(): AggregateState {
    const outputIndex = new Map<OutputSeries, number>();
    const outputs: AggregateState['outputs'] = [];
    const inputIndex = new Map<InputSeries, number>();
    const inputs: AggregateState['inputs'] = [];
    const producerIndex = new Map<ProducerState, number>();
    let pi = 0;
    for (const p of this.producers.values()) producerIndex.set(p, pi++);
    for (const s of this.outputs.values()) if (s.lastFed !== NEVER_FED) outputIndex.set(s, outputIndex.size);
    const targetsOf = (targets: OutputSeries[] | null): number[] | null => {
      if (targets === null) return null;
      const idx: number[] = [];
      for (const t of targets) {
        const i = outputIndex.get(t);
        if (i === undefined) return null;
        idx.push(i);
      }
      return idx;
    };
    for (const scope of this.scopes.values()) {
      for (const input of scope.inputs.values()) {
        inputIndex.set(input, inputs.length);
        inputs.push([scope.key, input.key, input.labels, input.family, input.type, input.lastFed, targetsOf(input.targets)]);
      }
    }
    for (const s of this.outputs.values()) {
      if (s.lastFed === NEVER_FED) continue;
      let contribs: number[] | null = null;
      if (s.contribs !== null) {
        contribs = [];
        for (const c of s.contribs) contribs.push(producerIndex.get(c.producer)!, inputIndex.get(c.input)!);
      }
      outputs.push([s.key, s.labels, s.mode, s.job, encodeNumber(s.value), s.tick, s.lastFed, contribs, s.buckets]);
    }
    const producers: AggregateState['producers'] = [];
    for (const p of this.producers.values()) {
      const contribs: ContributionState[] = [];
      for (const c of p.contribs.values()) {
        contribs.push([inputIndex.get(c.input)!, encodeNumber(c.value), c.lastFed, c.tick, c.fed ? 1 : 0, c.inGauges ? 1 : 0, targetsOf(c.targets)]);
      }
      producers.push([p.id, p.job, p.lastSeq, p.lastSeen, contribs]);
    }
    return { format: STATE_FORMAT, version: 1, tick: this.tick, outputs, inputs, producers };
  }

  static fromState(state: unknown, opts: AggregateOptions): PartitionAggregate {
    const agg = new PartitionAggregate(opts);
    const s = state as AggregateState;
    if (s === null || typeof s !== 'object' || s.format !== STATE_FORMAT || s.version !== 1) {
      throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `not an aggregate state (expected format ${STATE_FORMAT} version 1)`);
    }
    try {
      agg.tick = s.tick;
      const outputs: OutputSeries[] = s.outputs.map(([key, labels, mode, job, value, tick, lastFed, , buckets]) => {
        const series = new OutputSeries(key, labels, mode, job, lastFed, buckets);
        series.value = decodeNumber(value);
        series.tick = tick;
        agg.addOutput(series);
        return series;
      });
      const targetsFrom = (idx: number[] | null) => (idx === null ? null : idx.map((i) => outputs[i]!));
      const inputs: InputSeries[] = s.inputs.map(([scopeKey, key, labels, family, type, lastFed, targets]) => {
        let scope = agg.scopes.get(scopeKey);
        if (scope === undefined) {
          scope = { key: scopeKey, inputs: new Map() };
          agg.scopes.set(scopeKey, scope);
        }
        const plan = agg.plan(labels, family, type, '');
        const groupKey = type === 'histogram' || type === 'summary' ? groupKeyOf(labels, family) : null;
        const input = new InputSeries(scope, key, labels, family, type, plan.hasTotal, plan.hasGauge, plan.perProducer, groupKey, lastFed);
        input.targets = targetsFrom(targets);
        scope.inputs.set(key, input);
        return input;
      });
      const producers: ProducerState[] = [];
      const contribsByProducer: Array<Map<InputSeries, Contribution>> = [];
      for (const [id, job, lastSeq, lastSeen, contribs] of s.producers) {
        const p = new ProducerState(id, job, lastSeen);
        p.lastSeq = lastSeq;
        for (const [ii, value, lastFed, tick, fed, inGauges, targets] of contribs) {
          const c = agg.addContribution(p, inputs[ii]!);
          c.value = decodeNumber(value);
          c.lastFed = lastFed;
          c.tick = tick;
          c.fed = fed === 1;
          c.inGauges = inGauges === 1;
          c.targets = targetsFrom(targets);
        }
        agg.producers.set(id, p);
        producers.push(p);
        contribsByProducer.push(p.contribs);
      }
      s.outputs.forEach((o, i) => {
        const contribs = o[7];
        const series = outputs[i]!;
        if (contribs === null || series.contribs === null) return;
        for (let j = 0; j < contribs.length; j += 2) {
          series.contribs.add(contribsByProducer[contribs[j]!]!.get(inputs[contribs[j + 1]!]!)!);
        }
      });
    } catch (cause) {
      if (cause instanceof AggregateError) throw cause;
      throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `aggregate state is corrupt: ${String(cause)}`, { cause });
    }
    return agg;
  }
}

type EncodedNumber = number | 'NaN' | '+Inf' | '-Inf';
type ContributionState = [input: number, value: EncodedNumber, lastFed: number, tick: number, fed: 0 | 1, inGauges: 0 | 1, targets: number[] | null];

/** What `toState` returns; opaque to other stages (the checkpoint stores it as JSON). */
export interface AggregateState {
  format: typeof STATE_FORMAT;
  version: 1;
  tick: number;
  outputs: Array<
    [key: string, labels: Labels, mode: OutputMode, job: string, value: EncodedNumber, tick: number, lastFed: number, contribs: number[] | null, buckets: number[] | null]
  >;
  inputs: Array<[scope: string, key: string, labels: Labels, family: string, type: InputMetricType, lastFed: number, targets: number[] | null]>;
  producers: Array<[id: string, job: string, lastSeq: number, lastSeen: number, contribs: ContributionState[]]>;
}

function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function decodeNumber(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
}

function hasDropped(targets: OutputSeries[]): boolean {
  for (let i = 0; i < targets.length; i++) if (targets[i]!.dropped) return true;
  return false;
}

function recomputeLast(s: OutputSeries): void {
  let best: Contribution | null = null;
  for (const c of s.contribs!) if (best === null || c.tick > best.tick) best = c;
  if (best !== null) {
    s.value = best.value;
    s.tick = best.tick;
  }
}

function gaugeValue(mode: OutputMode, contribs: Set<Contribution>): number {
  switch (mode) {
    case 'count':
      return contribs.size;
    case 'min': {
      let v = Infinity;
      for (const c of contribs) if (c.value < v || Number.isNaN(c.value)) v = c.value;
      return v;
    }
    case 'max': {
      let v = -Infinity;
      for (const c of contribs) if (c.value > v || Number.isNaN(c.value)) v = c.value;
      return v;
    }
    default: {
      let sum = 0;
      for (const c of contribs) sum += c.value;
      return mode === 'avg' ? sum / contribs.size : sum;
    }
  }
}

function emitValueHistogram(s: OutputSeries, out: OutputSample[]): void {
  const buckets = s.buckets!;
  const counts = new Array<number>(buckets.length).fill(0);
  let sum = 0;
  for (const c of s.contribs!) {
    sum += c.value;
    for (let i = 0; i < buckets.length; i++) if (c.value <= buckets[i]!) counts[i]!++;
  }
  const parts = s.parts!;
  for (let i = 0; i < buckets.length; i++) out.push({ labels: parts[i]!, value: counts[i]! });
  out.push({ labels: parts[buckets.length]!, value: s.contribs!.size });
  out.push({ labels: parts[buckets.length + 1]!, value: sum });
  out.push({ labels: parts[buckets.length + 2]!, value: s.contribs!.size });
}

function histogramParts(labels: Labels, buckets: number[]): Labels[] {
  const base = labels['__name__']!;
  const entries = Object.entries(labels).filter(([n]) => n !== '__name__' && n !== 'le');
  const parts: Labels[] = [];
  for (const le of [...buckets.map(String), '+Inf']) {
    parts.push(sortedLabelsFrom([...entries, ['__name__', `${base}_bucket`], ['le', le]]));
  }
  parts.push(sortedLabelsFrom([...entries, ['__name__', `${base}_sum`]]));
  parts.push(sortedLabelsFrom([...entries, ['__name__', `${base}_count`]]));
  return parts;
}

/** `_bucket`, `_sum` or `_count` when `name` is that part of histogram `family`. */
function histogramPart(name: string, family: string): string | null {
  if (name.length <= family.length || !name.startsWith(family)) return null;
  const suffix = name.slice(family.length);
  return suffix === '_bucket' || suffix === '_sum' || suffix === '_count' ? suffix : null;
}

function groupKeyOf(labels: Labels, family: string): string {
  let key = family + '\u0000';
  for (const name of Object.keys(labels).sort()) {
    if (name === '__name__' || name === 'le' || name === 'quantile') continue;
    key += name + '=' + JSON.stringify(labels[name]) + ',';
  }
  return key;
}
