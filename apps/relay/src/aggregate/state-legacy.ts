/**
 * Readers of the aggregate states older relays wrote (state.ts writes version 4): version 1 (one array per series)
 * and version 2 (columns, times absolute), read by converting version 2 to version 1 (`rowsOf`). Unchanged since
 * those versions were written: restoring one gives what the relay that wrote it would have.
 */
import type { Labels } from '@prom-relay/codec';
import type { InputMetricType } from '../model.js';
import { inSortedOrder } from './labels.js';
import { newGaugeState } from './outputs.js';
import { outputKey } from './plan.js';
import { histogramFromState, type HistogramState } from './native-histogram.js';
import { InputGroup, InputSeries, NativeOutputSeries, OutputSeries, ProducerState, contributionOf, newOutput, relTime, stateScope } from './series.js';
import type { AggregateStore, OutputMode, ProducerScope, Targets } from './series.js';

export type EncodedNumber = number | 'NaN' | '+Inf' | '-Inf';
type ContributionState = [input: number, value: EncodedNumber, lastFed: number, tick: number, inGauges: 0 | 1, targets: number[] | null, seq?: number];
type InputState = [key: string, family: string, type: InputMetricType, flags: number, groupKey: string | null, lastFed: number, targets: number[] | null];
/** natives: input index and the producer's last cumulative native histogram, flat (absent when none) */
type ProducerScopeState = [key: string, counters: Array<number | EncodedNumber>, gauges: ContributionState[] | null, natives?: Array<number | HistogramState>];

/** Version 2: output and input series as columns, label names, modes, jobs, families and types in `strings`. */
export interface StateV2 {
  format: string;
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
  producers: RowState['producers'];
}

/** Version 1 (one array per series). */
export interface RowState {
  format: string;
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

/** Rebuilds the tables of a fresh aggregate from a version 1 or 2 state (throws on a corrupt one). */
export function readRows(given: RowState | StateV2, store: AggregateStore): void {
  const s = given.version === 2 ? rowsOf(given) : given;
  store.tick = s.tick;
  const outputs: OutputSeries[] = s.outputs.map(([labels, mode, job, value, lastFed, g, rule]) => {
    const key = outputKey(labels, mode);
    const gauge = g === null ? null : newGaugeState(mode, labels, g[2]);
    if (gauge !== null) gauge.tick = g![0];
    const series = newOutput(inSortedOrder(labels), mode, job, relTime(lastFed - store.epoch), gauge);
    series.rule = rule ?? ruleOutput(labels);
    series.value = decodeNumber(value);
    // Not in the state: the last feed is the best estimate of when a `last` value was applied.
    if (series.gauge !== null) series.gauge.valueAt = series.lastFed;
    store.addOutput(series, key);
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
  const inputScope: string[] = [];
  // The series of one histogram or summary share their InputGroup, as when they were created.
  let lastGroup: InputGroup | null = null;
  for (const [scopeKey, scopeInputs] of s.scopes) {
    const scope = store.scopeOf(scopeKey);
    for (const [key, family, type, flags, groupKey, lastFed, targets] of scopeInputs) {
      if (groupKey !== null && groupKey !== (lastGroup as InputGroup | null)?.groupKey) lastGroup = new InputGroup(family, groupKey);
      const input = new InputSeries(key, family, type, flags, groupKey === null ? null : lastGroup, scope.keyHead(key, true));
      input.lastFed = relTime(lastFed - store.epoch);
      input.targets = targetsFrom(targets);
      scope.add(input, key);
      inputs.push(input);
      inputScope.push(scope.key);
    }
  }
  const pscopes: Array<Array<(i: number) => ProducerScope>> = [];
  for (const [id, job, lastSeq, lastSeen, scopes] of s.producers) {
    const p = new ProducerState(id, job, relTime(lastSeen - store.epoch));
    p.lastSeq = lastSeq;
    // A row's producer scope for input i: states of this format predate keys that name the group (stateScope).
    const byScope: Array<(i: number) => ProducerScope> = [];
    for (const [key, counters, gauges, natives] of scopes) {
      const pscope = (i: number) => stateScope(p, key, p.lastSeen, inputScope[i]!);
      if (natives !== undefined) {
        for (let i = 0; i < natives.length; i += 2) {
          const input = inputs[natives[i] as number]!;
          (pscope(natives[i] as number).natives ??= new Map()).set(input, histogramFromState(natives[i + 1]));
          input.holders++;
        }
      }
      for (let i = 0; i < counters.length; i += 2) {
        const input = inputs[counters[i] as number]!;
        pscope(counters[i] as number).counters.set(input, decodeNumber(counters[i + 1] as EncodedNumber));
        input.holders++;
      }
      for (const [ii, value, lastFed, tick, inGauges, targets, seq] of gauges ?? []) {
        const c = contributionOf(store, pscope(ii), inputs[ii]!);
        c.seq = seq ?? -1;
        c.value = decodeNumber(value);
        c.lastFed = relTime(lastFed - store.epoch);
        c.tick = tick;
        c.inGauges = inGauges === 1;
        c.targets = targetsFrom(targets);
      }
      byScope.push(pscope);
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
      gauge.contribs.add(pscopes[flat[j]!]![flat[j + 1]!]!(flat[j + 2]!).gauges!.get(inputs[flat[j + 2]!]!)!);
    }
  });
}

function rowsOf(s: StateV2): RowState {
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
  return { format: s.format, version: 1, tick: s.tick, outputs, scopes, producers: s.producers };
}

/** A state written before outputs were marked: rule outputs are named `<metric>:<infix><output>`, default ones keep
 *  the pushed name (which rarely has a colon). Only decides what a whole-job delete ends until the next checkpoint. */
function ruleOutput(labels: Labels): boolean {
  return labels['__name__']?.includes(':') ?? false;
}

export function decodeNumber(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
}
