/**
 * `PartitionAggregate`, the public face of the aggregate, and `apply`, its hot path: phase 1 resolves every point of
 * a push to its input series and output series (creating them from the plan, plan.ts, within the limits), phase 2
 * feeds the values (feed.ts). `collect` (expiry.ts) and `toState` / `fromState` (state.ts) delegate; all of them
 * work on the same tables (`AggregateStore`, series.ts).
 */
import type { Labels } from '@prom-relay/codec';
import type { IngestBatch, InputPoint, OutputSample } from '../model.js';
import { collectOutputs, endJob, isWholeJob } from './expiry.js';
import { endContribution, endGroup, endReplaced } from './group-ends.js';
import { feed, feedExemplar, feedLate, feedNative } from './feed.js';
import { intern, labelsKey, ownString, ownedSortedLabels } from './labels.js';
import { resolveOptions } from './options.js';
import type { AggregateOptions, ResolvedOptions } from './options.js';
import { fromWire, histogramProblem } from './native-histogram.js';
import { newGaugeState } from './outputs.js';
import { keyInScope } from '../decode/text-point.js';
import { Planner } from './plan.js';
import { InputNumbers } from './input-numbers.js';
import { AggregateStore, GAUGE_MODES, HAS_GAUGE, HAS_TOTAL, InputGroup, InputSeries, NATIVE, NEVER_FED, NativeOutputSeries, OutputSeries, PER_PRODUCER, ProducerScope, ProducerState } from './series.js';
import { contributionOf, groupKey, hasDropped, newOutput, relTime, replaceKey } from './series.js';
import type { LimitKind, OutputSpec, Scope, Targets } from './series.js';
import { retireUntypedInput } from './retype.js';
import { readState, writeState } from './state.js';
import type { AggregateState } from './state.js';

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
  /** Points whose output series exists as another kind (a counter's total where a gauge's last value is, or back). */
  typeConflicts: number;
  /** Points left out because another point of their histogram or summary instance was refused (they move together). */
  siblings: number;
  /** Series creations refused, by limit. */
  limitHits: Record<LimitKind, number>;
  /** Exemplars alone (`exemplarOnly` points) of an input series no sample fed yet: not carried. */
  exemplarsUnmatched: number;
}

type Failure = LimitKind | 'invalid' | 'conflict';

/** What phase 1 marks a staleness marker with: its input ends a contribution, it feeds no output. */
const NO_TARGETS: Targets = [];

/**
 * Records `atMs` as the newest sample time of the producer's input, unless a newer one was applied (then false). Kept
 * relative to the aggregate's epoch: a small integer, no number boxed per point (bench/diagnosis/stamps-cost.mts).
 */
function isNewestSample(store: AggregateStore, pscope: ProducerScope, input: InputSeries, atMs: number): boolean {
  const at = relTime(atMs - store.epoch);
  const stamps = (pscope.stamps ??= new InputNumbers());
  const last = stamps.get(input);
  if (last !== undefined && at < last) return false;
  stamps.set(input, at);
  return true;
}

/**
 * The aggregation state of one Kafka partition: counters as running totals of increases over all producers, gauges
 * last (or rule outputs across producers), histograms merged like counters, summaries per producer. Synchronous:
 * `apply` of one batch is atomic with respect to `collect` and `toState`.
 */
export class PartitionAggregate {
  private readonly opts: ResolvedOptions;
  private readonly producerLabelSet: ReadonlySet<string>;
  private readonly planner: Planner;
  private readonly store = new AggregateStore();
  private scratch: Array<Targets | null> = [];
  private scratchInputs: Array<InputSeries | null> = [];
  /**
   * The input series a replacing push named but fed no gauge value of (refused, left out, an exemplar alone), and the
   * metric families it carries (a POST): what it replaces not (reused: cleared after each push). What it fed has a
   * newer tick.
   */
  private readonly seen = new Set<InputSeries>();
  private readonly families = new Set<string>();
  /** the group key of the last histogram or summary input created (its siblings share the string) */
  private lastGroup: InputGroup | null = null;

  constructor(opts: AggregateOptions) {
    this.opts = resolveOptions(opts);
    this.producerLabelSet = new Set(this.opts.producerLabels);
    this.planner = new Planner(this.opts.rules, this.producerLabelSet);
  }

  get seriesCount(): number {
    return this.store.outputs.size;
  }

  /** The labels of an output series, by its key (an owner in this process shares them: no copy). */
  outputSeries(key: string): { labels: Labels } | undefined {
    return this.store.outputs.get(key);
  }

  /** Producers currently remembered (for metrics). */
  get producerCount(): number {
    return this.store.producers.size;
  }

  apply(batch: IngestBatch, nowMs: number): ApplyResult {
    const store = this.store;
    const now = relTime(nowMs - store.epoch);
    const result: ApplyResult = {
      accepted: 0,
      duplicate: false,
      duplicates: 0,
      rejected: 0,
      invalid: 0,
      typeConflicts: 0,
      siblings: 0,
      limitHits: { maxSeries: 0, maxSeriesPerJob: 0, maxLabelsPerSeries: 0, maxLabelValueLength: 0 },
      exemplarsUnmatched: 0,
    };
    if (batch.op === 'delete' && isWholeJob(batch.grouping)) {
      // The job ends, in every partition it was produced to (the ingest writes it to all of them): no producer state.
      endJob(store, batch.job, batch.position === undefined ? undefined : Number(batch.position.offset));
      return result;
    }
    let producer = store.producers.get(batch.producerId);
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
      producer = new ProducerState(ownString(batch.producerId), intern(batch.job), now);
      store.producers.set(producer.id, producer);
    }
    producer.lastSeen = now;
    if (seq !== undefined && !late) producer.lastSeq = seq;
    const points = batch.points;
    const n = points.length;

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
    const pscopeKey = groupKey(scopeKey, producerKey);
    if (batch.op === 'delete') {
      endGroup(store, producer, pscopeKey);
      return result;
    }
    // A push that is its sender's whole state in the group (a Pushgateway PUT) or of the families it carries (POST)
    // replaces the group's gauges (group-ends.ts): only where the group has some, the push's series are noted.
    const replacing = !late && batch.partial !== true && store.gaugeScopes.size > 0 && store.gaugeScopes.has(replaceKey(producer.id, pscopeKey));
    const seen = this.seen;
    const families = replacing && batch.op === 'add' ? this.families : null;
    // Empty also when an earlier apply threw midway (the source dead-letters that record and goes on).
    if (replacing) {
      seen.clear();
      families?.clear();
    }
    const tickBefore = store.tick;
    if (n === 0) {
      if (replacing && batch.op === 'push') endReplaced(store, producer, pscopeKey, seen, null, tickBefore);
      return result;
    }
    const scope = store.scopeOf(scopeKey);
    let pscope = producer.scopes.get(pscopeKey);
    if (pscope === undefined) {
      pscope = new ProducerScope(producer, ownString(pscopeKey));
      producer.scopes.set(pscope);
    }
    pscope.lastSeen = now;

    if (this.scratch.length < n) {
      this.scratch.length = n;
      this.scratchInputs.length = n;
    }
    const scratch = this.scratch;
    const scratchInputs = this.scratchInputs;
    let rejectedGroups: Set<string> | null = null;
    // Producers of a job push the same series in the same order: the first miss (a series added, another producer's
    // series) ends the positional lookup for the rest of this push, so a push unlike the last costs one comparison.
    let positional = true;

    // Phase 1: resolve every point to its output series (creating series, checking limits) without changing values.
    for (let i = 0; i < n; i++) {
      const point = points[i]!;
      scratch[i] = null;
      scratchInputs[i] = null;
      // Producer labels the headers set are left out of the key, also where a text body wrote them (the headers' win).
      const key = point.key === undefined ? labelsKey(point.labels, keySkip) : keySkip === undefined ? point.key : keyInScope(point, keySkip);
      // The series at this position in the last push to the scope, while the push follows it; else the hash lookup.
      let input = positional ? scope.at(i, key) : undefined;
      if (input === undefined) {
        positional = false;
        // As written, else (a text series spelled another way: other label order or blanks) by its identity.
        input = scope.find(key, point.key !== undefined ? point : undefined);
        // An input a checkpoint of an older relay holds under the key with the body's producer label, until it expires.
        if (input === undefined && point.key !== undefined && key !== point.key) input = scope.find(point.key, point);
      }
      if (point.staleMarker === true) {
        // The series ended at its sender: the producer's gauge contribution to it ends (phase 2); it creates nothing.
        if (input !== undefined && (input.flags & HAS_GAUGE) !== 0 && pscope.gauges?.has(input) === true) {
          scratch[i] = NO_TARGETS;
          scratchInputs[i] = input;
        }
        continue;
      }
      if (point.exemplarOnly === true) {
        if (replacing && input !== undefined) seen.add(input);
        // An exemplar alone goes to the outputs a sample of its series feeds; it creates nothing.
        const targets = input === undefined ? null : (input.flags & PER_PRODUCER) !== 0 ? (pscope.gauges?.get(input)?.targets ?? null) : input.targets;
        if (targets === null || hasDropped(targets)) result.exemplarsUnmatched++;
        else {
          scratch[i] = targets;
          scratchInputs[i] = input!;
        }
        continue;
      }
      let failure: Failure | null = null;
      if (input !== undefined && input.type === 'untyped' && point.type !== 'untyped' && point.histogram === undefined && (input.flags & HAS_TOTAL) === 0) {
        // Created before its type was known (a Remote Write 1.0 sender's samples before its metadata): it starts again
        // as what it is; its gauge values leave (retype.ts).
        retireUntypedInput(this.store, scope, input);
        input = undefined;
      } else if (input !== undefined && point.type !== input.type && point.type !== 'untyped' && input.type !== 'untyped' && this.planner.inputType(point.labels, point.family, point.type) !== input.type) {
        // Another type than its series has (a gauge `m` pushed by one instance, a counter `m` by another): read as the
        // series' type it would be silently wrong (a gauge's values added up as a counter's), so it is refused, as a
        // Pushgateway refuses a push inconsistent with the metrics of its other groups.
        failure = 'conflict';
      }
      if (input === undefined) {
        const created = this.createInput(scope, key, point, producer.id, batch.job);
        if (typeof created === 'string') failure = created;
        else input = created;
      }
      if (input !== undefined) scope.remember(i, input);
      if (families !== null) families.add(point.family);
      let targets: Targets | null = null;
      if (input !== undefined && failure === null) {
        if ((input.flags & PER_PRODUCER) !== 0) {
          const c = contributionOf(store, pscope, input);
          targets = c.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.materialize(this.planner.plan(point.labels, input.family, input.type, producer.id).specs, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = c.targets = t;
          }
        } else {
          targets = input.targets;
          if (targets === null || hasDropped(targets)) {
            const t = this.materialize(this.planner.plan(point.labels, input.family, input.type, producer.id, (input.flags & NATIVE) !== 0).specs, batch.job);
            if (typeof t === 'string') failure = t;
            else targets = input.targets = t;
          }
        }
        // A running total takes only finite, non-negative inputs up to 1e300 (the decoder's bound): it can never become +Inf,
        // also when a `total` rule reads gauges the decoder cannot judge.
        if (failure === null && (input.flags & HAS_TOTAL) !== 0 && !(point.value >= 0 && point.value <= 1e300)) failure = 'invalid';
        // A native histogram feeds native outputs only (and a plain value never does); the decoder checked its counts.
        if (failure === null && ((input.flags & NATIVE) !== 0) !== (point.histogram !== undefined)) failure = 'invalid';
        if (failure === null && point.histogram !== undefined && (histogramProblem(point.histogram) !== null || (Array.isArray(targets) && targets.length === 0))) failure = 'invalid';
      }
      if (failure !== null) {
        if (replacing && input !== undefined) seen.add(input);
        result.rejected++;
        if (failure === 'invalid') result.invalid++;
        else if (failure === 'conflict') result.typeConflicts++;
        else result.limitHits[failure]++;
        if (point.type === 'histogram' || point.type === 'summary') {
          (rejectedGroups ??= new Set()).add(input?.groupKey ?? this.planner.groupKeyOf(point.labels, point.family));
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
      const point = points[i]!;
      const rejected = rejectedGroups !== null && input.groupKey !== null && rejectedGroups.has(input.groupKey);
      if (point.exemplarOnly === true) {
        if (!late && !rejected) feedExemplar(store, targets, point.exemplar!, nowMs);
        continue;
      }
      if (point.staleMarker === true) {
        // A marker older than a sample applied since (a retried request) ends nothing.
        if (late || (point.timestamp !== undefined && !isNewestSample(store, pscope, input, point.timestamp))) result.duplicates++;
        else {
          endContribution(store, pscope, input);
          result.accepted++;
        }
        continue;
      }
      if (rejected) {
        if (replacing) seen.add(input);
        result.rejected++;
        result.siblings++;
        continue;
      }
      // A sample older than the newest this producer applied to the series: a retried request (Prometheus sends the
      // whole batch again after a 5xx or a timeout) or a delayed one. Read in order it would look like a reset.
      if (point.timestamp !== undefined && !isNewestSample(store, pscope, input, point.timestamp)) {
        if (replacing) seen.add(input);
        result.duplicates++;
        continue;
      }
      const delta = (point.temporality ?? batch.temporality) === 'delta';
      let fed: boolean;
      if (point.histogram !== undefined) fed = feedNative(store, pscope, input, targets, fromWire(point.histogram), delta, now, late);
      else if (!late) {
        feed(store, pscope, input, targets, point.value, delta, now, seq ?? -1, batch.partial !== true);
        fed = true;
      } else fed = feedLate(store, pscope, input, targets, point.value, delta, now, seq!, batch.partial !== true);
      if (!fed) {
        result.duplicates++;
        continue;
      }
      result.accepted++;
      // A producer's own quantile series without a gauge value of its own (rules took its outputs): its tick stays.
      if (replacing && (input.flags & (HAS_GAUGE | PER_PRODUCER)) === PER_PRODUCER) seen.add(input);
      if (point.exemplar !== undefined) feedExemplar(store, targets, point.exemplar, nowMs);
    }
    // (What the push added to the producer's numbers, without the room their arrays grew ahead.)
    pscope.counters.fit();
    pscope.stamps?.fit();
    if (replacing) endReplaced(store, producer, pscopeKey, seen, families, tickBefore);
    result.duplicate = late && result.accepted === 0;
    return result;
  }

  private createInput(scope: Scope, key: string, point: InputPoint, producerId: string, job: string): InputSeries | LimitKind | 'conflict' {
    const labels = point.labels;
    let count = 0;
    for (const name in labels) {
      count++;
      // The metric name is schema, not cardinality: only label values count against the length limit.
      if (labels[name]!.length > this.opts.limits.maxLabelValueLength && name !== '__name__') return 'maxLabelValueLength';
    }
    if (count > this.opts.limits.maxLabelsPerSeries) return 'maxLabelsPerSeries';
    // The type it is read as (a rule's inputType, else its own): kept by the input series until it expires.
    const type = this.planner.inputType(labels, point.family, point.type);
    const plan = this.planner.plan(labels, point.family, type, producerId, point.histogram !== undefined);
    let targets: Targets | null = null;
    if ((plan.flags & PER_PRODUCER) === 0) {
      const t = this.materialize(plan.specs, job);
      if (typeof t === 'string') return t;
      targets = t;
    }
    // The series of one histogram or summary come together: they share one InputGroup (13 copies of the group key for
    // a histogram of 11 buckets cost ~1 KB). Flat copy: a string built by concatenation is a chain of rope nodes.
    const family = intern(point.family);
    let group: InputGroup | null = null;
    if (point.type === 'histogram' || point.type === 'summary') {
      const groupKey = this.planner.groupKeyOf(labels, point.family);
      group = this.lastGroup !== null && this.lastGroup.groupKey === groupKey ? this.lastGroup : (this.lastGroup = new InputGroup(family, ownString(groupKey)));
    }
    const head = scope.keyHead(key);
    const input = new InputSeries(head.length === 0 ? ownString(key) : key, family, type, plan.flags, group, head);
    input.targets = targets;
    scope.add(input, key);
    return input;
  }

  /**
   * The output series of `specs`, creating missing ones; refuses, creating nothing, when a limit would be passed or
   * when an output of the same name is another kind (`total` and `last` share names: a counter and a gauge of one name).
   */
  private materialize(specs: OutputSpec[], job: string): Targets | LimitKind | 'conflict' {
    const outputs = this.store.outputs;
    // Each spec's output, found once (a lookup hashes the key and compares it with labels: see key-index.ts).
    const found = new Array<OutputSeries | undefined>(specs.length);
    let fresh = 0;
    for (let i = 0; i < specs.length; i++) {
      const existing = outputs.get(specs[i]!.key);
      if (existing !== undefined && existing.mode !== specs[i]!.mode) return 'conflict';
      found[i] = existing;
      if (existing === undefined) fresh++;
    }
    if (fresh > 0) {
      if (outputs.size + fresh > this.opts.limits.maxSeries) return 'maxSeries';
      const jobCount = this.store.seriesPerJob.get(job) ?? 0;
      if (jobCount + fresh > this.opts.limits.maxSeriesPerJob) return 'maxSeriesPerJob';
      for (let i = 0; i < specs.length; i++) {
        if (found[i] !== undefined) continue;
        const spec = specs[i]!;
        // (plan.ts addSpec makes specs unique by key; a repeated one shares the output made for the first)
        const first = specs.length === 1 ? i : specs.findIndex((s) => s.key === spec.key);
        if (first < i) {
          found[i] = found[first];
          continue;
        }
        const labels = ownedSortedLabels(spec.labels);
        const gauge = GAUGE_MODES.has(spec.mode) ? newGaugeState(spec.mode, labels, spec.buckets) : null;
        const series = newOutput(labels, spec.mode, intern(job), NEVER_FED, gauge);
        series.rule = spec.rule;
        this.store.addOutput(series, spec.key);
        found[i] = series;
      }
    }
    return specs.length === 1 ? found[0]! : (found as OutputSeries[]);
  }

  /**
   * Every active output series, one sample each (a `histogram` output over plain values: its `_bucket`s, `_sum` and
   * `_count`). A series not fed for `seriesTtlMs` (`counterTtlMs` for totals), a gauge whose producers all ended, or a
   * default output of a job that a whole-job delete ended, comes out once with `stale: true` and is dropped; producers
   * silent for `producerTtlMs` are forgotten. `onlyFed`: outputs not fed since the last collect (gauge-mode ones: and
   * no contribution left) are left out, as unchanged; ends always come out.
   */
  collect(nowMs: number, opts: { onlyFed?: boolean } = {}): OutputSample[] {
    return collectOutputs(this.store, this.opts, nowMs, opts.onlyFed === true);
  }

  /** Compact JSON-serialisable state (state.ts): columns of numbers and strings, indices instead of references. */
  toState(): AggregateState {
    return writeState(this.store);
  }

  /** An aggregate that gives exactly the same future results as the one `state` came from; pass the same options. */
  static fromState(state: unknown, opts: AggregateOptions): PartitionAggregate {
    const agg = new PartitionAggregate(opts);
    readState(state, agg.store);
    return agg;
  }
}
