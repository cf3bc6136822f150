/**
 * The state model of a partition aggregate: what is kept per output series, per input series, per producer, and the
 * tables that hold them (`AggregateStore`). Plain classes with fixed fields (the hot paths see one shape each); the
 * logic that changes them lives in feed.ts (values in), expiry.ts (what ends), outputs.ts (output values).
 */
import type { Exemplar, Labels } from '@prom-relay/codec';
import type { InputMetricType } from '../model.js';
import { InputNumbers } from './input-numbers.js';
import { KeyIndex } from './key-index.js';
import { ProducerScopes } from './producer-scopes.js';
import { internTail, keyOfLabels, labelsKey, labelsMatchKey, ownString } from './labels.js';
import { emptyHistogram, type NativeHistogram } from './native-histogram.js';
import { Scope } from './scope.js';

export { Scope };

/** How an output series turns its inputs into one value. */
export type OutputMode = 'total' | 'last' | 'sum' | 'min' | 'max' | 'avg' | 'count' | 'valueHistogram' | 'native';

export type LimitKind = 'maxSeries' | 'maxSeriesPerJob' | 'maxLabelsPerSeries' | 'maxLabelValueLength';

export const GAUGE_MODES: ReadonlySet<OutputMode> = new Set(['last', 'sum', 'min', 'max', 'avg', 'count', 'valueHistogram']);
/** `lastFed` of an output series created but not fed yet (its batch was then rejected). */
export const NEVER_FED = -Infinity;

/** Input flags. */
export const HAS_TOTAL = 1;
export const HAS_GAUGE = 2;
/** Summary quantiles: each producer gets its own output series, so targets live on the producer's contribution. */
export const PER_PRODUCER = 4;
/** Native histogram inputs: per-producer cumulative histograms, merged into `native` outputs (native-histogram.ts). */
export const NATIVE = 8;

/** What a gauge-mode output keeps: its live contributions. */
export class GaugeState {
  /** Update order of the contribution the `last` value came from. */
  tick = 0;
  /** last: when the output's value was applied (relative time, like lastFed). */
  valueAt = 0;
  readonly contribs = new Set<Contribution>();
  /** valueHistogram: `labelsKey` of each part. */
  readonly partKeys: string[] | null;
  /** its output's job (OutputSeries.job: a gauge output keeps it here, a total in the field this takes) */
  job = '';
  constructor(
    /** valueHistogram: label sets of `_bucket`..., `_sum`, `_count`. */
    readonly parts: Labels[] | null,
    readonly buckets: number[] | null,
  ) {
    this.partKeys = parts === null ? null : parts.map((p) => labelsKey(p));
  }
}

const OUTPUT_MODES: readonly OutputMode[] = ['total', 'last', 'sum', 'min', 'max', 'avg', 'count', 'valueHistogram', 'native'];

/** One output series: what the flush sends. */
export class OutputSeries {
  /**
   * DROPPED (bit 0), RULE (bit 1), the mode (bits 2-5, an index into OUTPUT_MODES) and, above them, `fedGen`: one
   * field (8 B a series). Kept by arithmetic, not bitwise operators, so a generation past 2^25 stays exact.
   */
  private bits: number;
  /** total: running total; last: the latest value. */
  value = 0;
  /** Made by `newOutput`, which picks the class: this one for a total whose labels carry its job. */
  constructor(
    /** names in sorted order (its key is built from them in their own order: see `key`) */
    readonly labels: Labels,
    mode: OutputMode,
    public lastFed: number,
  ) {
    this.bits = OUTPUT_MODES.indexOf(mode) << 2;
  }

  /** the job whose input made it (what `maxSeriesPerJob` counts it against): here its `job` label */
  get job(): string {
    return this.labels['job']!;
  }

  /** gauge modes: the live contributions (and, for `last`, when its value was applied); else null */
  get gauge(): GaugeState | null {
    return null;
  }

  get mode(): OutputMode {
    return OUTPUT_MODES[(this.bits & 63) >> 2]!;
  }

  /** the aggregate's collect generation when it was last fed: a source publishes only what was fed since (see collect) */
  get fedGen(): number {
    return Math.floor(this.bits / 64);
  }

  set fedGen(v: number) {
    this.bits = v * 64 + (this.bits & 63);
  }

  /**
   * Its row in the state being written, -1 for none: only while `writeState` runs (state-write.ts, synchronous), which
   * lends it `fedGen`'s place and gives `fedGen` back after. A field of its own cost 8 B a series for as long as it
   * lived; a Map by series, ~60 ns a lookup (~18 ms of a 100k series' state).
   */
  get stateRow(): number {
    return this.fedGen - 1;
  }

  /**
   * Its key in the outputs (plan.ts `outputKey`: `labelsKey`, after `<mode>` and U+0000 for modes other than total
   * and last), built: the series keeps no key string (key-index.ts).
   */
  get key(): string {
    const mode = this.mode;
    return mode === 'total' || mode === 'last' ? keyOfLabels(this.labels) : mode + '\u0000' + keyOfLabels(this.labels);
  }

  /** Left the tables (expired, ended, or never shown): inputs pointing here resolve their targets again. */
  get dropped(): boolean {
    return (this.bits & 1) !== 0;
  }

  set dropped(v: boolean) {
    if (v !== this.dropped) this.bits += v ? 1 : -1;
  }

  /** A rule's output (it may combine jobs), not a job's default output: a whole-job delete leaves it alone. */
  get rule(): boolean {
    return (this.bits & 2) !== 0;
  }

  set rule(v: boolean) {
    if (v !== this.rule) this.bits += v ? 2 : -2;
  }
}

/**
 * An output that keeps its job, or its gauge state (which holds the job), in a field: gauge modes, native histograms,
 * and totals whose labels do not carry their job as `job` (a rule's that drops or sets it). A total of a job's default
 * output needs no such field (8 B a series): `OutputSeries`.
 */
export class JobOutputSeries extends OutputSeries {
  /** the job, or (gauge modes) the GaugeState, which holds the job: one field for the two */
  private readonly jobOrGauge: string | GaugeState;
  constructor(labels: Labels, mode: OutputMode, job: string, lastFed: number, gauge: GaugeState | null) {
    super(labels, mode, lastFed);
    if (gauge !== null) gauge.job = job;
    this.jobOrGauge = gauge ?? job;
  }

  override get job(): string {
    const j = this.jobOrGauge;
    return typeof j === 'string' ? j : j.job;
  }

  override get gauge(): GaugeState | null {
    const j = this.jobOrGauge;
    return typeof j === 'string' ? null : j;
  }
}

/** A `native` output: the running total of a native histogram (its `value` is unused). */
export class NativeOutputSeries extends JobOutputSeries {
  hist: NativeHistogram = emptyHistogram();
}

/**
 * An output series of `labels` (names in sorted order), `mode` and `job`, fed last at `lastFed`, with `gauge` for the
 * gauge modes: of the class that keeps no more than it needs.
 */
export function newOutput(labels: Labels, mode: OutputMode, job: string, lastFed: number, gauge: GaugeState | null): OutputSeries {
  if (mode === 'native') return new NativeOutputSeries(labels, mode, job, lastFed, gauge);
  if (gauge === null && labels['job'] === job) return new OutputSeries(labels, mode, lastFed);
  return new JobOutputSeries(labels, mode, job, lastFed, gauge);
}

/** One output series (the common case, no array) or several. */
export type Targets = OutputSeries | OutputSeries[];

/**
 * One input series of a scope (job + grouping labels other than producer labels): shared by every producer of that
 * scope; what is per producer (counter baselines, gauge values) lives in the producer's state.
 */
const INPUT_TYPES: readonly InputMetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** Input flags take the low bits of InputSeries.bits, the type the bits above, `holders` the rest (in units of HOLDER_UNIT). */
const FLAG_BITS = 4;
const HOLDER_UNIT = 128;

/**
 * What input series share beyond their family: the instance of a histogram or summary (PartitionAggregate.createInput,
 * the state readers make one per instance: its family and its group key, family + labels without le/quantile/producer
 * labels), and the head of their keys (InputSeries keyHead). An input with a head holds one with its group's family
 * and group key (or none) and the head, shared by the inputs made one after another with the same three (`partOf`).
 */
export class InputGroup {
  constructor(
    readonly family: string,
    readonly groupKey: string | null,
    readonly head = '',
  ) {}
}

/** The last shared part `partOf` made: the inputs made next most often share it. */
let lastPart: InputGroup | null = null;

/** What an input of `family`, `group` and key head `head` holds in its `familyOrGroup`. */
function partOf(family: string, group: InputGroup | null, head: string): string | InputGroup {
  if (head.length === 0) return group ?? family;
  const groupKey = group === null ? null : group.groupKey;
  const last = lastPart;
  if (last !== null && last.head === head && last.family === family && last.groupKey === groupKey) return last;
  return (lastPart = new InputGroup(family, groupKey, head));
}

/** Ids of input series, in the order they are made (wrapping before they stop being small integers). */
let inputIds = 0;

export class InputSeries {
  /** Made after every input made before it, but for a wrap every 2^30 inputs: where its numbers sit in a producer scope (input-numbers.ts). */
  readonly id = inputIds++ & 0x3fffffff;
  targets: Targets | null = null;
  lastFed = 0;
  /** the flags, the type and, above them, `holders`: one field (8 B an input) */
  private bits: number;
  /**
   * The family, or what it shares with other inputs (histogram and summary series: their instance group; inputs with a
   * key head: the head): one field (8 B an input).
   */
  private readonly familyOrGroup: string | InputGroup;
  /** the rest of its key after `keyHead` (a copy of its own), or the whole key where it has no head */
  readonly keyTail: string;
  constructor(
    key: string,
    family: string,
    type: InputMetricType,
    flags: number,
    /** a histogram's or summary's instance (its `family` is this family), shared by the instance's series */
    group: InputGroup | null,
    /** a start of `key` other inputs share (Scope.keyHead), or '' */
    head = '',
    /** the rest of `key` after `head` where the caller has it as a string of its own (a state's); else a copy is made */
    tail?: string,
  ) {
    this.bits = flags | (INPUT_TYPES.indexOf(type) << FLAG_BITS);
    this.familyOrGroup = partOf(family, group, head);
    // The tail a copy (`key` is often a slice of its push's body, which it would keep alive), shared with the inputs
    // whose last labels are the same (labels.ts internTail).
    this.keyTail = head.length === 0 ? key : internTail(tail ?? key.slice(head.length));
  }

  /**
   * Its key is `keyHead + keyTail`: the head a start its scope's inputs share (Scope.keyHead: the series of a push
   * differ in their last labels, `name{job_label="…",shard="7",partition_key="` is written again in each), one string
   * held by many inputs, or '' (the key whole in `keyTail`). A key was the largest thing an input kept (~94 B of a
   * series' ~485 in bench/relay-core.ts's one relay); the tail alone is a third of that.
   */
  get keyHead(): string {
    const f = this.familyOrGroup;
    return typeof f === 'string' ? '' : f.head;
  }

  /** Its key: a text series as written, or the key the aggregate derived from its labels (`labelsKey`). Built when it has a head. */
  get key(): string {
    const head = this.keyHead;
    return head.length === 0 ? this.keyTail : head + this.keyTail;
  }

  /**
   * Whether `key` is its key, compared in place, nothing built or allocated: the tail by `indexOf` from its place (the
   * lengths agree, so no other place fits), the head by `indexOf` (it starts the key: 0). In the relay's decode +
   * apply this costs ~0-6 % more CPU per sample than one `===` of whole keys (bench/relay-core.ts's workload; ~20-30 ns
   * a point on the positional path, bench/diagnosis/apply-misses.mts with APPLY_HITS=1). Tried and slower there:
   * substrings compared by `===` (one young object each per point, and apply's scavenges copied the decoded batch
   * again and again: +80 ns a point), `startsWith`/`endsWith` on keys sliced from a push's body (+140 ns),
   * `lastIndexOf(head, 0)`.
   */
  keyIs(key: string): boolean {
    const f = this.familyOrGroup;
    const head = typeof f === 'string' ? '' : f.head;
    const tail = this.keyTail;
    if (head.length === 0) return key === tail;
    const at = head.length;
    return key.length === at + tail.length && key.indexOf(tail, at) === at && key.indexOf(head) === 0;
  }

  get family(): string {
    const f = this.familyOrGroup;
    return typeof f === 'string' ? f : f.family;
  }

  /**
   * Histogram/summary instance (family + labels without le/quantile/producer labels) for atomic rejection; null for
   * other series.
   */
  get groupKey(): string | null {
    const f = this.familyOrGroup;
    return typeof f === 'string' ? null : f.groupKey;
  }

  /** HAS_TOTAL, HAS_GAUGE, PER_PRODUCER, NATIVE */
  get flags(): number {
    return this.bits & ((1 << FLAG_BITS) - 1);
  }

  /** the type it is read as (a rule's inputType, else its own) */
  get type(): InputMetricType {
    return INPUT_TYPES[(this.bits & (HOLDER_UNIT - 1)) >> FLAG_BITS]!;
  }

  /** Producer entries (baselines, contributions) pointing here; the input is kept while any does. */
  get holders(): number {
    return Math.floor(this.bits / HOLDER_UNIT);
  }

  set holders(v: number) {
    this.bits = v * HOLDER_UNIT + (this.bits & (HOLDER_UNIT - 1));
  }
}

/** One producer's gauge value for one input series. */
export class Contribution {
  value = 0;
  /** sequence number of the push the value came from (-1: none) */
  seq = -1;
  lastFed = 0;
  tick = 0;
  /** IN_GAUGES and SNAPSHOT */
  private bits = 0;
  /** PER_PRODUCER inputs: this producer's own output series. */
  targets: Targets | null = null;
  constructor(
    readonly owner: ProducerScope,
    readonly input: InputSeries,
  ) {}

  /** In its gauge outputs' live contributions. */
  get inGauges(): boolean {
    return (this.bits & IN_GAUGES) !== 0;
  }

  set inGauges(v: boolean) {
    this.bits = v ? this.bits | IN_GAUGES : this.bits & ~IN_GAUGES;
  }

  /**
   * Last set by a registry's snapshot (text or protobuf MetricFamily), not by samples (Remote Write, JSON lines): a
   * snapshot push of its group that no longer carries it ends it (group-ends.ts); a sample's value it leaves alone.
   */
  get snapshot(): boolean {
    return (this.bits & SNAPSHOT) !== 0;
  }

  set snapshot(v: boolean) {
    this.bits = v ? this.bits | SNAPSHOT : this.bits & ~SNAPSHOT;
  }

  /** Both flags as a number (the checkpoint's `contribs.inGauges`: bit 0 inGauges, bit 1 snapshot). */
  get flagBits(): number {
    return this.bits;
  }

  set flagBits(v: number) {
    this.bits = v & (IN_GAUGES | SNAPSHOT);
  }
}
const IN_GAUGES = 1;
const SNAPSHOT = 2;

/**
 * A producer's state in one group: one input scope (job + grouping labels other than producer labels) under one set
 * of producer-label values (almost always one per producer). Keyed by `groupKey(scope key, producer key)`, so what a
 * push replaces (endReplaced, group-ends.ts) is this one scope's, found without a walk over the producer's other groups.
 */
export class ProducerScope {
  /** Last cumulative value per counter-like input: the baseline of the next increase. */
  readonly counters = new InputNumbers();
  gauges: Map<InputSeries, Contribution> | null = null;
  /** Last cumulative native histogram per NATIVE input: the baseline of the next increase. */
  natives: Map<InputSeries, NativeHistogram> | null = null;
  /**
   * Newest sample time applied per input (ms after the store's epoch), for points that carry one (Remote Write): older
   * samples are left out. Kept a while after the input's value left (a staleness marker, a replace), so a retried
   * request cannot bring it back; let go with the input (expiry.ts releaseStamps).
   */
  stamps: InputNumbers | null = null;
  /** When the producer last pushed under these producer-label values (relative time): forgotten after counterTtlMs + producerTtlMs. */
  lastSeen = 0;
  /** The gauge contributions by input family, once an `add` push (POST) replaced some (built then, kept since). */
  byFamily: Map<string, Set<Contribution>> | null = null;
  constructor(
    readonly producer: ProducerState,
    /** `groupKey(scope key, producer key)` */
    readonly key: string,
  ) {}
}

/**
 * A time relative to the aggregate's epoch (`ms - epoch`) as a small integer where it is one. The difference of two
 * `Date.now()`s is a heap number even when whole, and a field that stores one is boxed from then on in every object
 * of its class (V8 widens the field to a double: 16 B per series, e.g. every input's `lastFed`); an integer made by
 * `| 0` is stored in place. (Past 2^31 ms, ~24.8 days after the epoch, times are doubles again.)
 */
export function relTime(t: number): number {
  const i = t | 0;
  return i === t ? i : t;
}

/** Joins a scope key and a producer key in a producer scope's key (neither holds a control character but U+0000). */
const GROUP_SEP = '\u0001';

/** The key of a producer's scope in a group: its input scope's key and its producer-label values. */
export function groupKey(scopeKey: string, producerKey: string): string {
  return scopeKey + GROUP_SEP + producerKey;
}

/** A producer scope key of a state written before keys named the scope (the producer-label values alone). */
export function isLegacyGroupKey(key: string): boolean {
  return !key.includes(GROUP_SEP);
}

/**
 * The producer scope a checkpoint row of `producer` (`key`, `lastSeen`) holds for an input of the scope `scopeKey`,
 * created on first use: the row's own key, or, in a state written before producer scope keys named their group, the
 * row's producer-label values in the input's group (such a row becomes one producer scope per group it held).
 */
export function stateScope(producer: ProducerState, key: string, lastSeen: number, scopeKey: string): ProducerScope {
  const full = isLegacyGroupKey(key) ? groupKey(scopeKey, key) : key;
  let pscope = producer.scopes.get(full);
  if (pscope === undefined) {
    pscope = new ProducerScope(producer, full);
    pscope.lastSeen = lastSeen;
    producer.scopes.set(pscope);
  }
  return pscope;
}

/** The id a Pushgateway group's runs share: `<group>` of `<group>/run=<run>` (the ingest's naming), else the id itself. */
export function runGroupOf(id: string): string {
  const at = id.indexOf(RUN_MARK);
  return at < 0 ? id : id.slice(0, at);
}
const RUN_MARK = '/run=';

export class ProducerState {
  lastSeq = -1;
  readonly scopes = new ProducerScopes();
  constructor(
    readonly id: string,
    readonly job: string,
    public lastSeen: number,
  ) {}
}

/** An output series an input feeds, before it exists (see plan.ts). */
export interface OutputSpec {
  key: string;
  labels: Labels;
  mode: OutputMode;
  buckets: number[] | null;
  /** a rule's output, not the default one */
  rule: boolean;
}

export interface InputPlan {
  specs: OutputSpec[];
  flags: number;
}

/**
 * The tables of one partition aggregate. Internal: `PartitionAggregate` is the public face; apply, collect and
 * toState/fromState (state.ts) work on these.
 */
export class AggregateStore {
  /** by key (OutputSeries.key), holding no key string */
  readonly outputs = new KeyIndex<OutputSeries>(outputMatchesKey);
  readonly scopes = new Map<string, Scope>();
  readonly producers = new Map<string, ProducerState>();
  readonly seriesPerJob = new Map<string, number>();
  /**
   * Output series a whole-job delete ended since the last `collect`, which gives each one stale sample. Never in the
   * state: the flush takes `toState` right after `collect`, in the same synchronous step.
   */
  ended: OutputSeries[] = [];
  /** the source offset of the record that ended each of `ended` by a whole-job delete, where known */
  readonly endedBy = new Map<OutputSeries, number>();
  /**
   * Producer scopes of each group that had gauge contributions, by `runGroupOf(producer id)` and scope key
   * (`replaceKey`): the runs of a Pushgateway group whose gauges a push of the group replaces, found without a walk
   * over every producer. A scope that let its last contribution go stays until a replace finds it empty.
   */
  readonly gaugeScopes = new Map<string, Set<ProducerScope>>();
  /** Update order of gauge contributions: which one a `last` output took its value from. */
  tick = 0;
  /** How many times `collect` ran: an output fed since the last one has `fedGen === generation`. */
  generation = 0;
  /** Times are kept relative to this, so they stay small integers (no boxed doubles per series). */
  readonly epoch = Date.now();
  /**
   * The latest exemplar of each output series that had one (only those pay for it), with the `generation` it came in:
   * `collect` hands it on once, when it came since the last collect. Not in the state: a restart forgets it.
   */
  readonly exemplars = new Map<OutputSeries, { exemplar: Exemplar; gen: number }>();

  scopeOf(key: string): Scope {
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = new Scope(ownString(key));
      this.scopes.set(scope.key, scope);
    }
    return scope;
  }

  /** `series` under its key (`key`: OutputSeries.key, known to the caller). */
  addOutput(series: OutputSeries, key: string): void {
    this.outputs.set(key, series);
    this.seriesPerJob.set(series.job, (this.seriesPerJob.get(series.job) ?? 0) + 1);
  }

  dropOutput(series: OutputSeries): void {
    series.dropped = true;
    this.outputs.delete(series.key);
    if (this.exemplars.size > 0) this.exemplars.delete(series);
    const left = (this.seriesPerJob.get(series.job) ?? 1) - 1;
    if (left <= 0) this.seriesPerJob.delete(series.job);
    else this.seriesPerJob.set(series.job, left);
  }
}

/** Whether `key` is the key of `s` (OutputSeries.key), compared in place. */
function outputMatchesKey(s: OutputSeries, key: string): boolean {
  const mode = s.mode;
  if (mode === 'total' || mode === 'last') return labelsMatchKey(s.labels, key, 0);
  return key.startsWith(mode) && key.charCodeAt(mode.length) === 0 && labelsMatchKey(s.labels, key, mode.length + 1);
}

/** The key of `pscope`'s group among the runs of its producer's Pushgateway group (AggregateStore.gaugeScopes). */
export function replaceKey(producerId: string, pscopeKey: string): string {
  return runGroupOf(producerId) + '\u0002' + pscopeKey;
}

/** The producer's contribution to `input`, created (and counted as a holder of the input) on first use. */
export function contributionOf(store: AggregateStore, pscope: ProducerScope, input: InputSeries): Contribution {
  const gauges = (pscope.gauges ??= new Map());
  let c = gauges.get(input);
  if (c === undefined) {
    if (gauges.size === 0) {
      const key = replaceKey(pscope.producer.id, pscope.key);
      let scopes = store.gaugeScopes.get(key);
      if (scopes === undefined) store.gaugeScopes.set(key, (scopes = new Set()));
      scopes.add(pscope);
    }
    c = new Contribution(pscope, input);
    gauges.set(input, c);
    input.holders++;
    if (pscope.byFamily !== null) familySet(pscope.byFamily, input.family).add(c);
  }
  return c;
}

/** `c` leaves its producer's state (it has left its outputs: leaveGauges) and stops holding its input. */
export function dropContribution(pscope: ProducerScope, c: Contribution): void {
  pscope.gauges!.delete(c.input);
  c.input.holders--;
  const family = pscope.byFamily?.get(c.input.family);
  if (family === undefined) return;
  family.delete(c);
  if (family.size === 0) pscope.byFamily!.delete(c.input.family);
}

/** The contributions of `pscope` to inputs of `family` (the index built on first use). */
export function contributionsOfFamily(pscope: ProducerScope, family: string): Set<Contribution> | undefined {
  if (pscope.byFamily === null) {
    pscope.byFamily = new Map();
    if (pscope.gauges !== null) for (const c of pscope.gauges.values()) familySet(pscope.byFamily, c.input.family).add(c);
  }
  return pscope.byFamily.get(family);
}

function familySet(byFamily: Map<string, Set<Contribution>>, family: string): Set<Contribution> {
  let set = byFamily.get(family);
  if (set === undefined) byFamily.set(family, (set = new Set()));
  return set;
}

export function hasDropped(targets: Targets): boolean {
  if (targets instanceof OutputSeries) return targets.dropped;
  for (let i = 0; i < targets.length; i++) if (targets[i]!.dropped) return true;
  return false;
}

export function targetList(targets: Targets): OutputSeries[] {
  return targets instanceof OutputSeries ? [targets] : targets;
}
