import type { Labels } from '@prom-relay/codec';
import type { CombineMode, IngestBatch, InputMetricType, InputPoint, OutputSample } from '../model.js';
import { AggregateError } from './errors.js';
import { intern, labelsKey, ownString, ownedSortedLabels, sortedLabelsFrom } from './labels.js';
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
const NEVER_FED = -Infinity;
const STATE_FORMAT = 'prom-relay.aggregate';

/** Input flags. */
const HAS_TOTAL = 1;
const HAS_GAUGE = 2;
/** Summary quantiles: each producer gets its own output series, so targets live on the producer's contribution. */
const PER_PRODUCER = 4;

/** What a gauge-mode output keeps: its live contributions. */
class GaugeState {
  /** Update order of the contribution the `last` value came from. */
  tick = 0;
  readonly contribs = new Set<Contribution>();
  /** valueHistogram: `labelsKey` of each part. */
  readonly partKeys: string[] | null;
  constructor(
    /** valueHistogram: label sets of `_bucket`..., `_sum`, `_count`. */
    readonly parts: Labels[] | null,
    readonly buckets: number[] | null,
  ) {
    this.partKeys = parts === null ? null : parts.map((p) => labelsKey(p));
  }
}

/** One output series: what the flush sends. */
class OutputSeries {
  dropped = false;
  /** total: running total; last: the latest value. */
  value = 0;
  /** last: when `value` was applied (relative time, like lastFed). */
  valueAt = 0;
  /** Position in the last `toState` (a field, not a Map: the snapshot of 100k series runs in the flush). */
  stateIndex = -1;
  constructor(
    readonly key: string,
    readonly labels: Labels,
    readonly mode: OutputMode,
    readonly job: string,
    public lastFed: number,
    readonly gauge: GaugeState | null,
  ) {}
}

/**
 * One input series of a scope (job + grouping labels other than producer labels): shared by every producer of that
 * scope; what is per producer (counter baselines, gauge values) lives in the producer's state.
 */
class InputSeries {
  targets: Targets | null = null;
  /** Producer entries (baselines, contributions) pointing here; the input is kept while any does. */
  holders = 0;
  lastFed = 0;
  /** Position in the last `toState`; every live input gets one there. */
  stateIndex = -1;
  constructor(
    readonly key: string,
    readonly family: string,
    readonly type: InputMetricType,
    readonly flags: number,
    /** Histogram/summary instance (family + labels without le/quantile/producer labels) for atomic rejection. */
    readonly groupKey: string | null,
  ) {}
}

/** One producer's gauge value for one input series. */
class Contribution {
  value = 0;
  /** sequence number of the push the value came from (-1: none) */
  seq = -1;
  lastFed = 0;
  tick = 0;
  inGauges = false;
  /** PER_PRODUCER inputs: this producer's own output series. */
  targets: Targets | null = null;
  constructor(
    readonly owner: ProducerScope,
    readonly input: InputSeries,
  ) {}
}

/** A producer's state under one set of producer-label values (almost always one per producer). */
class ProducerScope {
  /** Last cumulative value per counter-like input: the baseline of the next increase. */
  readonly counters = new Map<InputSeries, number>();
  gauges: Map<InputSeries, Contribution> | null = null;
  constructor(
    readonly producer: ProducerState,
    readonly key: string,
  ) {}
}

class ProducerState {
  lastSeq = -1;
  readonly scopes = new Map<string, ProducerScope>();
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
  flags: number;
}

type Failure = LimitKind | 'invalid';
/** One output series (the common case, no array) or several. */
type Targets = OutputSeries | OutputSeries[];

/**
 * The aggregation state of one Kafka partition: counters as running totals of increases over all producers, gauges
 * last (or rule outputs across producers), histograms merged like counters, summaries per producer. Synchronous:
 * `apply` of one batch is atomic with respect to `collect` and `toState`.
 */
export class PartitionAggregate {
  private readonly opts: ResolvedOptions;
  private readonly producerLabelSet: ReadonlySet<string>;
  private readonly outputs = new Map<string, OutputSeries>();
  private readonly scopes = new Map<string, Scope>();
  private readonly producers = new Map<string, ProducerState>();
  private readonly seriesPerJob = new Map<string, number>();
  private tick = 0;
  private scratch: Array<Targets | null> = [];
  /** Times are kept relative to this, so they stay small integers (no boxed doubles per series). */
  private readonly epoch = Date.now();
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

  apply(batch: IngestBatch, nowMs: number): ApplyResult {
    const now = nowMs - this.epoch;
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
    // A sequence number at or below the producer's last one: a duplicate (a replay, a retry) or, when forwarded from
    // the partition it first landed on, a push that arrived late. Only what a late push adds is applied: see feedLate.
    const late = producer !== undefined && seq !== undefined && seq <= producer.lastSeq;
    if (late && (batch.op === 'delete' || batch.forwarded !== true)) {
      // In its own partition a producer's pushes arrive in order: an older sequence number is a replay or a retry.
      result.duplicate = true;
      result.duplicates = batch.points.length;
      return result;
    }
    if (producer === undefined) {
      producer = new ProducerState(ownString(batch.producerId), ownString(batch.job), now);
      this.producers.set(producer.id, producer);
    }
    producer.lastSeen = now;
    if (seq !== undefined && !late) producer.lastSeq = seq;
    const points = batch.points;
    const n = points.length;
    if (n === 0 && batch.op !== 'delete') return result;

    // Scope keys: the input scope leaves producer labels out (when no rule looks at them), the producer scope is them.
    const grouping = batch.grouping;
    const names = Object.keys(grouping);
    if (names.length > 1) names.sort();
    let scopeKey = batch.job;
    let producerKey = '';
    let keySkip: Set<string> | undefined;
    for (const name of names) {
      const value = grouping[name]!;
      if (value.length > this.opts.limits.maxLabelValueLength && batch.op !== 'delete') {
        result.rejected = n;
        result.limitHits.maxLabelValueLength = n;
        return result;
      }
      if (this.producerLabelSet.has(name)) {
        producerKey += name + '\u0000' + value + '\u0000';
        if (this.opts.shareInputs) {
          (keySkip ??= new Set()).add(name);
          continue;
        }
      }
      scopeKey += '\u0000' + name + '\u0000' + value;
    }
    if (batch.op === 'delete') {
      this.endGroupGauges(producer, scopeKey, producerKey);
      return result;
    }
    const scope = this.scopeOf(scopeKey);
    let pscope = producer.scopes.get(producerKey);
    if (pscope === undefined) {
      pscope = new ProducerScope(producer, ownString(producerKey));
      producer.scopes.set(pscope.key, pscope);
    }

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
      const key = point.key ?? labelsKey(point.labels, keySkip);
      let input = scope.inputs.get(key);
      let failure: Failure | null = null;
      if (input === undefined) {
        const created = this.createInput(scope, key, point, producer.id, batch.job);
        if (typeof created === 'string') failure = created;
        else input = created;
      }
      let targets: Targets | null = null;
      if (input !== undefined) {
        if ((input.flags & PER_PRODUCER) !== 0) {
          const c = this.contributionOf(pscope, input);
          targets = c.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.materialize(this.plan(point.labels, input.family, input.type, producer.id).specs, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = c.targets = t;
          }
        } else {
          targets = input.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.materialize(this.plan(point.labels, input.family, input.type, producer.id).specs, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = input.targets = t;
          }
        }
        if (failure === null && (input.flags & HAS_TOTAL) !== 0 && !(point.value >= 0)) failure = 'invalid';
      }
      if (failure !== null) {
        result.rejected++;
        if (failure === 'invalid') result.invalid++;
        else result.limitHits[failure]++;
        if (point.type === 'histogram' || point.type === 'summary') {
          (rejectedGroups ??= new Set()).add(input?.groupKey ?? this.groupKeyOf(point.labels, point.family));
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
      const delta = (point.temporality ?? batch.temporality) === 'delta';
      if (!late) {
        this.feed(pscope, input, targets, point.value, delta, now, seq ?? -1);
        result.accepted++;
      } else if (this.feedLate(pscope, input, targets, point.value, delta, now, seq!)) result.accepted++;
      else result.duplicates++;
    }
    result.duplicate = late && result.accepted === 0;
    return result;
  }

  /**
   * A point of a push whose sequence number the producer already passed. Cumulative counters take only what goes
   * beyond the baseline (a replayed value adds nothing; a push that arrived late adds what it first counted), gauges
   * only a value newer than their own, deltas nothing (a replay cannot be told from a late one). Answers whether it
   * changed anything.
   */
  private feedLate(pscope: ProducerScope, input: InputSeries, targets: Targets, v: number, delta: boolean, now: number, seq: number): boolean {
    if (delta) return false;
    let increase = 0;
    let changed = false;
    if ((input.flags & HAS_TOTAL) !== 0) {
      const last = pscope.counters.get(input);
      if (last === undefined || v > last) {
        if (last === undefined) input.holders++;
        increase = last === undefined ? v : v - last;
        pscope.counters.set(input, v);
        changed = true;
      }
    }
    let c: Contribution | null = null;
    if ((input.flags & HAS_GAUGE) !== 0) {
      const existing = pscope.gauges?.get(input);
      if (existing === undefined || existing.seq < seq) {
        c = this.contributionOf(pscope, input);
        c.value = v;
        c.lastFed = now;
        c.tick = ++this.tick;
        c.seq = seq;
        changed = true;
      }
    }
    if (!changed) return false;
    input.lastFed = now;
    for (const t of targetList(targets)) {
      if (t.gauge === null) {
        if (increase > 0 || t.lastFed === NEVER_FED) feedTarget(t, null, v, increase, now);
      } else if (c !== null) feedTarget(t, c, v, 0, now);
    }
    return true;
  }

  private feed(pscope: ProducerScope, input: InputSeries, targets: Targets, v: number, delta: boolean, now: number, seq: number): void {
    let increase = 0;
    if ((input.flags & HAS_TOTAL) !== 0) {
      const last = pscope.counters.get(input);
      if (last === undefined) {
        // A new producer starts at zero: its first value is all increase.
        increase = v;
        input.holders++;
      } else {
        // A drop is a reset: the new value is all increase.
        increase = delta || v < last ? v : v - last;
      }
      pscope.counters.set(input, v);
    }
    let c: Contribution | null = null;
    if ((input.flags & HAS_GAUGE) !== 0) {
      c = this.contributionOf(pscope, input);
      c.value = v;
      c.lastFed = now;
      c.tick = ++this.tick;
      c.seq = seq;
    }
    input.lastFed = now;
    if (targets instanceof OutputSeries) feedTarget(targets, c, v, increase, now);
    else for (let j = 0; j < targets.length; j++) feedTarget(targets[j]!, c, v, increase, now);
  }

  private contributionOf(pscope: ProducerScope, input: InputSeries): Contribution {
    const gauges = (pscope.gauges ??= new Map());
    let c = gauges.get(input);
    if (c === undefined) {
      c = new Contribution(pscope, input);
      gauges.set(input, c);
      input.holders++;
    }
    return c;
  }

  private scopeOf(key: string): Scope {
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = { key: ownString(key), inputs: new Map() };
      this.scopes.set(scope.key, scope);
    }
    return scope;
  }

  private createInput(scope: Scope, key: string, point: InputPoint, producerId: string, job: string): InputSeries | LimitKind {
    const labels = point.labels;
    let count = 0;
    for (const name in labels) {
      count++;
      // The metric name is schema, not cardinality: only label values count against the length limit.
      if (labels[name]!.length > this.opts.limits.maxLabelValueLength && name !== '__name__') return 'maxLabelValueLength';
    }
    if (count > this.opts.limits.maxLabelsPerSeries) return 'maxLabelsPerSeries';
    const plan = this.plan(labels, point.family, point.type, producerId);
    let targets: Targets | null = null;
    if ((plan.flags & PER_PRODUCER) === 0) {
      const t = this.materialize(plan.specs, job);
      if (typeof t === 'string') return t;
      targets = t;
    }
    // Flat copy: a string built by concatenation is a chain of rope nodes until something flattens it.
    const groupKey = point.type === 'histogram' || point.type === 'summary' ? ownString(this.groupKeyOf(labels, point.family)) : null;
    const input = new InputSeries(ownString(key), intern(point.family), point.type, plan.flags, groupKey);
    input.targets = targets;
    scope.inputs.set(input.key, input);
    return input;
  }

  /** The output series of `specs`, creating missing ones; refuses, creating nothing, when a limit would be passed. */
  private materialize(specs: OutputSpec[], job: string): Targets | LimitKind {
    let fresh: OutputSpec[] | null = null;
    for (const spec of specs) {
      if (!this.outputs.has(spec.key) && !fresh?.some((f) => f.key === spec.key)) (fresh ??= []).push(spec);
    }
    if (fresh !== null) {
      if (this.outputs.size + fresh.length > this.opts.limits.maxSeries) return 'maxSeries';
      const jobCount = this.seriesPerJob.get(job) ?? 0;
      if (jobCount + fresh.length > this.opts.limits.maxSeriesPerJob) return 'maxSeriesPerJob';
      for (const spec of fresh) {
        const labels = ownedSortedLabels(spec.labels);
        const gauge = GAUGE_MODES.has(spec.mode)
          ? new GaugeState(spec.mode === 'valueHistogram' ? histogramParts(labels, spec.buckets!) : null, spec.buckets)
          : null;
        this.addOutput(new OutputSeries(ownString(spec.key), labels, spec.mode, intern(job), NEVER_FED, gauge));
      }
    }
    if (specs.length === 1) return this.outputs.get(specs[0]!.key)!;
    const out = new Array<OutputSeries>(specs.length);
    for (let i = 0; i < specs.length; i++) out[i] = this.outputs.get(specs[i]!.key)!;
    return out;
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
    const plan: InputPlan = { specs: [], flags: 0 };
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
            addSpec(plan, entries, 'total', null);
          } else {
            addSpec(plan, [...grouped, ['__name__', `${name}:${rule.nameInfix}histogram`]], 'valueHistogram', rule.buckets);
          }
        } else {
          addSpec(plan, [...grouped, ['__name__', `${name}:${rule.nameInfix}${output}`]], output, null);
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
        plan.flags |= PER_PRODUCER;
        if (!hasProducerLabel) entries.push(['producer', producerId]);
        addSpec(plan, entries, 'last', null);
      } else {
        addSpec(plan, entries, type === 'counter' || type === 'histogram' || type === 'summary' ? 'total' : 'last', null);
      }
    }
    return plan;
  }

  private groupKeyOf(labels: Labels, family: string): string {
    let key = family + '\u0000';
    for (const name of Object.keys(labels).sort()) {
      if (name === '__name__' || name === 'le' || name === 'quantile' || this.producerLabelSet.has(name)) continue;
      key += name + '=' + JSON.stringify(labels[name]) + ',';
    }
    return key;
  }

  /** `op: delete`: the producer's group (job + grouping) ends; its gauges drop out, its counter totals stay. */
  private endGroupGauges(producer: ProducerState, scopeKey: string, producerKey: string): void {
    const pscope = producer.scopes.get(producerKey);
    const scope = this.scopes.get(scopeKey);
    if (pscope === undefined || pscope.gauges === null || scope === undefined) return;
    for (const c of pscope.gauges.values()) {
      if (scope.inputs.get(c.input.key) !== c.input) continue; // another group of this producer
      this.leaveGauges(c);
      pscope.gauges.delete(c.input);
      c.input.holders--;
    }
  }

  /** Every gauge of the producer drops out (it expired). */
  private endProducerGauges(producer: ProducerState): void {
    for (const pscope of producer.scopes.values()) {
      if (pscope.gauges === null) continue;
      for (const c of pscope.gauges.values()) {
        this.leaveGauges(c);
        c.input.holders--;
      }
      pscope.gauges = null;
    }
  }

  private leaveGauges(c: Contribution): void {
    if (!c.inGauges) return;
    c.inGauges = false;
    const targets = c.targets ?? c.input.targets;
    if (targets === null) return;
    for (const t of targetList(targets)) {
      const gauge = t.gauge;
      if (gauge !== null && gauge.contribs.delete(c) && t.mode === 'last' && gauge.tick === c.tick) recomputeLast(t);
    }
  }

  private forgetProducer(producer: ProducerState): void {
    this.endProducerGauges(producer);
    for (const pscope of producer.scopes.values()) {
      for (const input of pscope.counters.keys()) input.holders--;
    }
    this.producers.delete(producer.id);
  }

  /**
   * Every active output series, one sample each (a `histogram` output over plain values: its `_bucket`s, `_sum` and
   * `_count`). A series not fed for `seriesTtlMs`, or a gauge whose producers all ended, comes out once with
   * `stale: true` and is dropped; producers silent for `producerTtlMs` are forgotten.
   */
  collect(nowMs: number): OutputSample[] {
    const now = nowMs - this.epoch;
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
      const gauge = s.gauge;
      if (gauge === null) {
        out.push({ labels: s.labels, value: s.value, combine: 'total', key: s.key });
        continue;
      }
      const contribs = gauge.contribs;
      let expiredLast = false;
      for (const c of contribs) {
        if (now - c.lastFed >= ttl) {
          contribs.delete(c);
          if (c.tick === gauge.tick) expiredLast = true;
        }
      }
      if (contribs.size === 0) {
        this.emitStale(s, out);
        continue;
      }
      if (s.mode === 'last') {
        if (expiredLast) recomputeLast(s);
        out.push({ labels: s.labels, value: s.value, combine: 'last', at: s.valueAt + this.epoch, key: s.key });
      } else if (s.mode === 'valueHistogram') {
        emitValueHistogram(gauge, out);
      } else if (s.mode === 'avg') {
        let sum = 0;
        for (const c of contribs) sum += c.value;
        out.push({ labels: s.labels, value: sum / contribs.size, combine: 'avg', sum, count: contribs.size, key: labelsKeyOf(s) });
      } else {
        out.push({ labels: s.labels, value: gaugeValue(s.mode, contribs), combine: combineOf(s.mode), key: labelsKeyOf(s) });
      }
    }
    this.sweep(now);
    return out;
  }

  private emitStale(s: OutputSeries, out: OutputSample[]): void {
    const parts = s.gauge?.parts;
    if (parts) parts.forEach((labels, i) => out.push({ labels, value: NaN, stale: true, combine: 'sum', key: s.gauge!.partKeys![i]! }));
    else out.push({ labels: s.labels, value: NaN, stale: true, combine: combineOf(s.mode), key: labelsKeyOf(s) });
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
        if (input.holders === 0 && now - input.lastFed >= ttl) scope.inputs.delete(input.key);
      }
      if (scope.inputs.size === 0) this.scopes.delete(scope.key);
    }
  }

  /** Compact JSON-serialisable state: columns of numbers and strings, indices instead of references (one flush
   *  stringifies it for 100k series, so no object or array per series). */
  toState(): AggregateState {
    const table = new Map<string, number>();
    const str = (v: string): number => {
      let i = table.get(v);
      if (i === undefined) table.set(v, (i = table.size));
      return i;
    };
    let outputCount = 0;
    for (const s of this.outputs.values()) s.stateIndex = s.lastFed === NEVER_FED ? -1 : outputCount++;
    const epoch = this.epoch;
    // A dropped output left the map (its index is stale) and a never-fed one is not in the state: both void the targets.
    const indexOf = (t: OutputSeries): number => (t.dropped || t.lastFed === NEVER_FED ? -1 : t.stateIndex);
    const targetsOf = (targets: Targets | null): number[] | null => {
      if (targets === null) return null;
      if (targets instanceof OutputSeries) {
        const i = indexOf(targets);
        return i < 0 ? null : [i];
      }
      const idx: number[] = [];
      for (const t of targets) {
        const i = indexOf(t);
        if (i < 0) return null;
        idx.push(i);
      }
      return idx;
    };
    let inputCount = 0;
    const scopes: AggregateState['scopes'] = [];
    const inputs: AggregateState['inputs'] = { key: [], family: [], type: [], flags: [], groupKey: [], lastFed: [], targets: [] };
    for (const scope of this.scopes.values()) {
      const first = inputCount;
      for (const input of scope.inputs.values()) {
        input.stateIndex = inputCount++;
        inputs.key.push(input.key);
        inputs.family.push(str(input.family));
        inputs.type.push(str(input.type));
        inputs.flags.push(input.flags);
        inputs.groupKey.push(input.groupKey);
        inputs.lastFed.push(input.lastFed + epoch);
        const t = input.targets;
        const single = t instanceof OutputSeries ? indexOf(t) : -1;
        inputs.targets.push(single >= 0 ? single : targetsOf(t));
      }
      scopes.push([scope.key, inputCount - first]);
    }
    const producers: AggregateState['producers'] = [];
    const contribIndex = new Map<Contribution, [number, number]>();
    for (const p of this.producers.values()) {
      const scopes: ProducerScopeState[] = [];
      for (const pscope of p.scopes.values()) {
        const counters: Array<number | EncodedNumber> = [];
        for (const [input, v] of pscope.counters) counters.push(input.stateIndex, encodeNumber(v));
        let gauges: ContributionState[] | null = null;
        if (pscope.gauges !== null) {
          gauges = [];
          for (const c of pscope.gauges.values()) {
            contribIndex.set(c, [producers.length, scopes.length]);
            gauges.push([c.input.stateIndex, encodeNumber(c.value), c.lastFed + epoch, c.tick, c.inGauges ? 1 : 0, targetsOf(c.targets), c.seq]);
          }
        }
        scopes.push([pscope.key, counters, gauges]);
      }
      producers.push([p.id, p.job, p.lastSeq, p.lastSeen + epoch, scopes]);
    }
    const outputs: AggregateState['outputs'] = { labels: [], mode: [], job: [], value: [], lastFed: [], gauges: [] };
    for (const s of this.outputs.values()) {
      if (s.lastFed === NEVER_FED) continue;
      if (s.gauge !== null) {
        const contribs: number[] = [];
        for (const c of s.gauge.contribs) {
          const [pi, si] = contribIndex.get(c)!;
          contribs.push(pi, si, c.input.stateIndex);
        }
        outputs.gauges.push([s.stateIndex, s.gauge.tick, contribs, s.gauge.buckets]);
      }
      const labels = outputs.labels;
      const at = labels.length;
      labels.push(0);
      let n = 0;
      for (const name in s.labels) {
        labels.push(str(name), s.labels[name]!);
        n++;
      }
      labels[at] = n;
      outputs.mode.push(str(s.mode));
      outputs.job.push(str(s.job));
      outputs.value.push(encodeNumber(s.value));
      outputs.lastFed.push(s.lastFed + epoch);
    }
    return { format: STATE_FORMAT, version: 2, tick: this.tick, strings: [...table.keys()], outputs, inputs, scopes, producers };
  }

  static fromState(state: unknown, opts: AggregateOptions): PartitionAggregate {
    const agg = new PartitionAggregate(opts);
    const given = state as AggregateState | RowState;
    if (given === null || typeof given !== 'object' || given.format !== STATE_FORMAT || (given.version !== 1 && given.version !== 2)) {
      throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `not an aggregate state (expected format ${STATE_FORMAT} version 1 or 2)`);
    }
    try {
      const s = given.version === 2 ? rowsOf(given) : given;
      agg.tick = s.tick;
      const outputs: OutputSeries[] = s.outputs.map(([labels, mode, job, value, lastFed, g]) => {
        const key = outputKey(labels, mode);
        const gauge = g === null ? null : new GaugeState(mode === 'valueHistogram' ? histogramParts(labels, g[2]!) : null, g[2]);
        if (gauge !== null) gauge.tick = g![0];
        const series = new OutputSeries(key, labels, mode, job, lastFed - agg.epoch, gauge);
        series.value = decodeNumber(value);
        // Not in the state: the last feed is the best estimate of when a `last` value was applied.
        series.valueAt = series.lastFed;
        agg.addOutput(series);
        return series;
      });
      const targetsFrom = (idx: number[] | null): Targets | null => {
        if (idx === null) return null;
        return idx.length === 1 ? outputs[idx[0]!]! : idx.map((i) => outputs[i]!);
      };
      const inputs: InputSeries[] = [];
      for (const [scopeKey, scopeInputs] of s.scopes) {
        const scope = agg.scopeOf(scopeKey);
        for (const [key, family, type, flags, groupKey, lastFed, targets] of scopeInputs) {
          const input = new InputSeries(key, family, type, flags, groupKey);
          input.lastFed = lastFed - agg.epoch;
          input.targets = targetsFrom(targets);
          scope.inputs.set(key, input);
          inputs.push(input);
        }
      }
      const pscopes: ProducerScope[][] = [];
      for (const [id, job, lastSeq, lastSeen, scopes] of s.producers) {
        const p = new ProducerState(id, job, lastSeen - agg.epoch);
        p.lastSeq = lastSeq;
        const byScope: ProducerScope[] = [];
        for (const [key, counters, gauges] of scopes) {
          const pscope = new ProducerScope(p, key);
          for (let i = 0; i < counters.length; i += 2) {
            const input = inputs[counters[i] as number]!;
            pscope.counters.set(input, decodeNumber(counters[i + 1] as EncodedNumber));
            input.holders++;
          }
          for (const [ii, value, lastFed, tick, inGauges, targets, seq] of gauges ?? []) {
            const c = agg.contributionOf(pscope, inputs[ii]!);
            c.seq = seq ?? -1;
            c.value = decodeNumber(value);
            c.lastFed = lastFed - agg.epoch;
            c.tick = tick;
            c.inGauges = inGauges === 1;
            c.targets = targetsFrom(targets);
          }
          byScope.push(pscope);
          p.scopes.set(key, pscope);
        }
        pscopes.push(byScope);
        agg.producers.set(id, p);
      }
      s.outputs.forEach((o, i) => {
        const g = o[5];
        const gauge = outputs[i]!.gauge;
        if (g === null || gauge === null) return;
        const flat = g[1];
        for (let j = 0; j < flat.length; j += 3) {
          gauge.contribs.add(pscopes[flat[j]!]![flat[j + 1]!]!.gauges!.get(inputs[flat[j + 2]!]!)!);
        }
      });
    } catch (cause) {
      if (cause instanceof AggregateError) throw cause;
      throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `aggregate state is corrupt: ${String(cause)}`, { cause });
    }
    return agg;
  }
}

/** Outputs of different modes may share labels (a rule's `last` and a default gauge cannot: names differ, but be safe). */
function outputKey(labels: Labels, mode: OutputMode): string {
  return mode === 'total' || mode === 'last' ? labelsKey(labels) : `${mode}\u0000${labelsKey(labels)}`;
}

function addSpec(plan: InputPlan, entries: Array<[string, string]>, mode: OutputMode, buckets: number[] | null): void {
  const labels = sortedLabelsFrom(entries);
  const key = outputKey(labels, mode);
  if (plan.specs.some((s) => s.key === key)) return;
  plan.specs.push({ key, labels, mode, buckets });
  plan.flags |= mode === 'total' ? HAS_TOTAL : HAS_GAUGE;
}

type EncodedNumber = number | 'NaN' | '+Inf' | '-Inf';
type ContributionState = [input: number, value: EncodedNumber, lastFed: number, tick: number, inGauges: 0 | 1, targets: number[] | null, seq?: number];
type InputState = [key: string, family: string, type: InputMetricType, flags: number, groupKey: string | null, lastFed: number, targets: number[] | null];
type ProducerScopeState = [key: string, counters: Array<number | EncodedNumber>, gauges: ContributionState[] | null];

/** What `toState` returns; opaque to other stages (the checkpoint stores it as JSON). Output and input series are
 *  columns (one array per field); `strings` holds label names, modes, jobs, families and types once each. */
export interface AggregateState {
  format: typeof STATE_FORMAT;
  version: 2;
  tick: number;
  strings: string[];
  outputs: {
    /** per output: its label count n, then n pairs of name (string index) and value */
    labels: Array<number | string>;
    mode: number[];
    job: number[];
    value: EncodedNumber[];
    lastFed: number[];
    gauges: Array<[output: number, tick: number, contribs: number[], buckets: number[] | null]>;
  };
  /** Input series, by scope in `scopes` order; targets: one output index, several, or null. */
  inputs: {
    key: string[];
    family: number[];
    type: number[];
    flags: number[];
    groupKey: Array<string | null>;
    lastFed: number[];
    targets: Array<number | number[] | null>;
  };
  /** scope key and its number of inputs */
  scopes: Array<[key: string, inputs: number]>;
  producers: Array<[id: string, job: string, lastSeq: number, lastSeen: number, scopes: ProducerScopeState[]]>;
}

/** Version 1 of the state (one array per series), still restored; version 2 is read by converting to it. */
interface RowState {
  format: typeof STATE_FORMAT;
  version: 1;
  tick: number;
  outputs: Array<
    [
      labels: Labels,
      mode: OutputMode,
      job: string,
      value: EncodedNumber,
      lastFed: number,
      gauge: [tick: number, contribs: number[], buckets: number[] | null] | null,
    ]
  >;
  /** Input series by scope; their index (for targets and producers) counts across scopes in this order. */
  scopes: Array<[key: string, inputs: InputState[]]>;
  producers: Array<[id: string, job: string, lastSeq: number, lastSeen: number, scopes: ProducerScopeState[]]>;
}

function rowsOf(s: AggregateState): RowState {
  const { strings, outputs: o, inputs: inp } = s;
  const n = o.value.length;
  if (o.mode.length !== n || o.job.length !== n || o.lastFed.length !== n) throw new Error('output columns differ in length');
  const m = inp.key.length;
  const columns = [inp.family, inp.type, inp.flags, inp.groupKey, inp.lastFed, inp.targets];
  if (columns.some((c) => c.length !== m) || s.scopes.reduce((k, [, c]) => k + c, 0) !== m) throw new Error('input columns differ in length');
  const text = (i: number): string => {
    const v = strings[i];
    if (typeof v !== 'string') throw new Error(`string index ${i} out of range`);
    return v;
  };
  const gauges = new Map(o.gauges.map(([i, tick, contribs, buckets]) => [i, [tick, contribs, buckets] as [number, number[], number[] | null]]));
  const outputs: RowState['outputs'] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const count = o.labels[at++] as number;
    const pairs: Array<[string, string]> = new Array(count);
    for (let j = 0; j < count; j++, at += 2) pairs[j] = [text(o.labels[at] as number), o.labels[at + 1] as string];
    // fromEntries defines own properties: a label named __proto__ stays a label
    outputs[i] = [Object.fromEntries(pairs), text(o.mode[i]!) as OutputMode, text(o.job[i]!), o.value[i]!, o.lastFed[i]!, gauges.get(i) ?? null];
  }
  let k = 0;
  const scopes: RowState['scopes'] = s.scopes.map(([key, count]) => {
    const rows: InputState[] = new Array(count);
    for (let j = 0; j < count; j++, k++) {
      const t = inp.targets[k]!;
      rows[j] = [inp.key[k]!, text(inp.family[k]!), text(inp.type[k]!) as InputMetricType, inp.flags[k]!, inp.groupKey[k]!, inp.lastFed[k]!, typeof t === 'number' ? [t] : t];
    }
    return [key, rows];
  });
  return { format: STATE_FORMAT, version: 1, tick: s.tick, outputs, scopes, producers: s.producers };
}

function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function decodeNumber(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
}

function hasDropped(targets: Targets): boolean {
  if (targets instanceof OutputSeries) return targets.dropped;
  for (let i = 0; i < targets.length; i++) if (targets[i]!.dropped) return true;
  return false;
}

function targetList(targets: Targets): OutputSeries[] {
  return targets instanceof OutputSeries ? [targets] : targets;
}

function feedTarget(t: OutputSeries, c: Contribution | null, v: number, increase: number, now: number): void {
  t.lastFed = now;
  const gauge = t.gauge;
  if (gauge === null) {
    t.value += increase;
  } else {
    gauge.contribs.add(c!);
    c!.inGauges = true;
    if (t.mode === 'last') {
      t.value = v;
      t.valueAt = now;
      gauge.tick = c!.tick;
    }
  }
}

/** The output's `labelsKey` (its map key carries a mode prefix for modes other than total and last). */
function labelsKeyOf(s: OutputSeries): string {
  return s.mode === 'total' || s.mode === 'last' ? s.key : s.key.slice(s.mode.length + 1);
}

/** How a mode's partials from several source partitions combine: counts add up, like sums. */
function combineOf(mode: OutputMode): CombineMode {
  switch (mode) {
    case 'total':
    case 'last':
    case 'sum':
    case 'min':
    case 'max':
    case 'avg':
      return mode;
    case 'count':
    case 'valueHistogram':
      return 'sum';
  }
}

function recomputeLast(s: OutputSeries): void {
  let best: Contribution | null = null;
  for (const c of s.gauge!.contribs) if (best === null || c.tick > best.tick) best = c;
  if (best !== null) {
    s.value = best.value;
    s.valueAt = best.lastFed;
    s.gauge!.tick = best.tick;
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

function emitValueHistogram(s: GaugeState, out: OutputSample[]): void {
  const buckets = s.buckets!;
  const counts = new Array<number>(buckets.length).fill(0);
  let sum = 0;
  for (const c of s.contribs) {
    sum += c.value;
    for (let i = 0; i < buckets.length; i++) if (c.value <= buckets[i]!) counts[i]!++;
  }
  const parts = s.parts!;
  const keys = s.partKeys!;
  // Every part is a count or a sum over this partition's contributions: partials of several partitions add up.
  for (let i = 0; i < buckets.length; i++) out.push({ labels: parts[i]!, value: counts[i]!, combine: 'sum', key: keys[i]! });
  const n = buckets.length;
  out.push({ labels: parts[n]!, value: s.contribs.size, combine: 'sum', key: keys[n]! });
  out.push({ labels: parts[n + 1]!, value: sum, combine: 'sum', key: keys[n + 1]! });
  out.push({ labels: parts[n + 2]!, value: s.contribs.size, combine: 'sum', key: keys[n + 2]! });
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
