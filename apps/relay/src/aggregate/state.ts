/**
 * The checkpoint form of an aggregate (`toState` / `fromState`): JSON-serialisable, numbers ±Inf/NaN as strings.
 * Version 2 keeps output and input series as columns (one array per field, repeated strings in a table) so that
 * stringifying 100k series allocates nothing per series; version 1 (one array per series) is still read, by
 * converting version 2 to it (`rowsOf`). Works on the aggregate's tables (`AggregateStore`), nothing else.
 */
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType } from '../model.js';
import { AggregateError } from './errors.js';
import { newGaugeState } from './outputs.js';
import { outputKey } from './plan.js';
import { histogramFromState, histogramToState, type HistogramState } from './native-histogram.js';
import { InputSeries, NEVER_FED, NativeOutputSeries, OutputSeries, ProducerScope, ProducerState, contributionOf } from './series.js';
import type { AggregateStore, Contribution, OutputMode, Targets } from './series.js';

const STATE_FORMAT = 'prom-relay.aggregate';

type EncodedNumber = number | 'NaN' | '+Inf' | '-Inf';
type ContributionState = [input: number, value: EncodedNumber, lastFed: number, tick: number, inGauges: 0 | 1, targets: number[] | null, seq?: number];
type InputState = [key: string, family: string, type: InputMetricType, flags: number, groupKey: string | null, lastFed: number, targets: number[] | null];
/** natives: input index and the producer's last cumulative native histogram, flat (absent when none) */
type ProducerScopeState = [key: string, counters: Array<number | EncodedNumber>, gauges: ContributionState[] | null, natives?: Array<number | HistogramState>];

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
    /** indices of the outputs that are a rule's (absent in states written before it existed: see `ruleOutput`) */
    rule?: number[];
    /** `native` outputs: index and running histogram, flat (absent when none) */
    native?: Array<number | HistogramState>;
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
      rule?: boolean,
    ]
  >;
  /** Input series by scope; their index (for targets and producers) counts across scopes in this order. */
  scopes: Array<[key: string, inputs: InputState[]]>;
  producers: Array<[id: string, job: string, lastSeq: number, lastSeen: number, scopes: ProducerScopeState[]]>;
}

/** Compact JSON-serialisable state: columns of numbers and strings, indices instead of references (one flush
 *  stringifies it for 100k series, so no object or array per series). */
export function writeState(store: AggregateStore): AggregateState {
  const table = new Map<string, number>();
  const str = (v: string): number => {
    let i = table.get(v);
    if (i === undefined) table.set(v, (i = table.size));
    return i;
  };
  let outputCount = 0;
  for (const s of store.outputs.values()) s.stateIndex = s.lastFed === NEVER_FED ? -1 : outputCount++;
  const epoch = store.epoch;
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
  for (const scope of store.scopes.values()) {
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
  for (const p of store.producers.values()) {
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
      if (pscope.natives !== null && pscope.natives.size > 0) {
        const natives: Array<number | HistogramState> = [];
        for (const [input, h] of pscope.natives) natives.push(input.stateIndex, histogramToState(h));
        scopes.push([pscope.key, counters, gauges, natives]);
      } else scopes.push([pscope.key, counters, gauges]);
    }
    producers.push([p.id, p.job, p.lastSeq, p.lastSeen + epoch, scopes]);
  }
  const outputs: AggregateState['outputs'] = { labels: [], mode: [], job: [], value: [], lastFed: [], gauges: [], rule: [] };
  for (const s of store.outputs.values()) {
    if (s.lastFed === NEVER_FED) continue;
    if (s.rule) outputs.rule!.push(s.stateIndex);
    if (s instanceof NativeOutputSeries) (outputs.native ??= []).push(s.stateIndex, histogramToState(s.hist));
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
  return { format: STATE_FORMAT, version: 2, tick: store.tick, strings: [...table.keys()], outputs, inputs, scopes, producers };
}

/** Rebuilds the tables of a fresh aggregate from a version 1 or 2 state; `AggregateError` on foreign or corrupt input. */
export function readState(state: unknown, store: AggregateStore): void {
  const given = state as AggregateState | RowState;
  if (given === null || typeof given !== 'object' || given.format !== STATE_FORMAT || (given.version !== 1 && given.version !== 2)) {
    throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `not an aggregate state (expected format ${STATE_FORMAT} version 1 or 2)`);
  }
  try {
    const s = given.version === 2 ? rowsOf(given) : given;
    store.tick = s.tick;
    const outputs: OutputSeries[] = s.outputs.map(([labels, mode, job, value, lastFed, g, rule]) => {
      const key = outputKey(labels, mode);
      const gauge = g === null ? null : newGaugeState(mode, labels, g[2]);
      if (gauge !== null) gauge.tick = g![0];
      const series = new (mode === 'native' ? NativeOutputSeries : OutputSeries)(key, labels, mode, job, lastFed - store.epoch, gauge);
      series.rule = rule ?? ruleOutput(labels);
      series.value = decodeNumber(value);
      // Not in the state: the last feed is the best estimate of when a `last` value was applied.
      if (series.gauge !== null) series.gauge.valueAt = series.lastFed;
      store.addOutput(series);
      return series;
    });
    const native = given.version === 2 ? (given.outputs.native ?? []) : [];
    for (let i = 0; i < native.length; i += 2) {
      const series = outputs[native[i] as number];
      if (!(series instanceof NativeOutputSeries)) throw new Error(`output ${String(native[i])} is not a native histogram`);
      series.hist = histogramFromState(native[i + 1]);
    }
    const targetsFrom = (idx: number[] | null): Targets | null => {
      if (idx === null) return null;
      return idx.length === 1 ? outputs[idx[0]!]! : idx.map((i) => outputs[i]!);
    };
    const inputs: InputSeries[] = [];
    // The series of one histogram or summary share their group key string, as when they were created.
    let lastGroup: string | null = null;
    for (const [scopeKey, scopeInputs] of s.scopes) {
      const scope = store.scopeOf(scopeKey);
      for (const [key, family, type, flags, groupKey, lastFed, targets] of scopeInputs) {
        if (groupKey !== lastGroup && groupKey !== null) lastGroup = groupKey;
        const input = new InputSeries(key, family, type, flags, groupKey === null ? null : lastGroup);
        input.lastFed = lastFed - store.epoch;
        input.targets = targetsFrom(targets);
        scope.inputs.set(key, input);
        inputs.push(input);
      }
    }
    const pscopes: ProducerScope[][] = [];
    for (const [id, job, lastSeq, lastSeen, scopes] of s.producers) {
      const p = new ProducerState(id, job, lastSeen - store.epoch);
      p.lastSeq = lastSeq;
      const byScope: ProducerScope[] = [];
      for (const [key, counters, gauges, natives] of scopes) {
        const pscope = new ProducerScope(p, key);
        if (natives !== undefined) {
          pscope.natives = new Map();
          for (let i = 0; i < natives.length; i += 2) {
            const input = inputs[natives[i] as number]!;
            pscope.natives.set(input, histogramFromState(natives[i + 1]));
            input.holders++;
          }
        }
        for (let i = 0; i < counters.length; i += 2) {
          const input = inputs[counters[i] as number]!;
          pscope.counters.set(input, decodeNumber(counters[i + 1] as EncodedNumber));
          input.holders++;
        }
        for (const [ii, value, lastFed, tick, inGauges, targets, seq] of gauges ?? []) {
          const c = contributionOf(pscope, inputs[ii]!);
          c.seq = seq ?? -1;
          c.value = decodeNumber(value);
          c.lastFed = lastFed - store.epoch;
          c.tick = tick;
          c.inGauges = inGauges === 1;
          c.targets = targetsFrom(targets);
        }
        byScope.push(pscope);
        p.scopes.set(key, pscope);
      }
      pscopes.push(byScope);
      store.producers.set(id, p);
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
  const rules = o.rule === undefined ? undefined : new Set(o.rule);
  const outputs: RowState['outputs'] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const count = o.labels[at++] as number;
    const pairs: Array<[string, string]> = new Array(count);
    for (let j = 0; j < count; j++, at += 2) pairs[j] = [text(o.labels[at] as number), o.labels[at + 1] as string];
    // fromEntries defines own properties: a label named __proto__ stays a label
    outputs[i] = [Object.fromEntries(pairs), text(o.mode[i]!) as OutputMode, text(o.job[i]!), o.value[i]!, o.lastFed[i]!, gauges.get(i) ?? null];
    if (rules !== undefined) outputs[i]!.push(rules.has(i));
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

/** A state written before outputs were marked: rule outputs are named `<metric>:<infix><output>`, default ones keep
 *  the pushed name (which rarely has a colon). Only decides what a whole-job delete ends until the next checkpoint. */
function ruleOutput(labels: Labels): boolean {
  return labels['__name__']?.includes(':') ?? false;
}

function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function decodeNumber(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
}
