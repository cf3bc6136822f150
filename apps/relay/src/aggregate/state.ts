/**
 * The checkpoint form of an aggregate (`toState` / `fromState`): JSON-serialisable, numbers ±Inf/NaN as strings.
 * Version 3 keeps every table as columns (state-columns.ts): one array per field, sized once; label values, jobs,
 * families and other repeated strings as indices into one string table, label names as shapes, and the columns where
 * values repeat as runs; times count from one epoch. So taking it for 100k series allocates a few dozen arrays (15 MB
 * where version 2 took 74 MB) and JSON.stringify meets almost only small integers. Versions 1 and 2, written by
 * earlier relays, are still read (state-legacy.ts). Works on the aggregate's tables (`AggregateStore`), nothing else.
 */
import type { InputMetricType } from '../model.js';
import { AggregateError } from './errors.js';
import { keptLabels } from './labels.js';
import { newGaugeState } from './outputs.js';
import { outputKey } from './plan.js';
import { histogramFromState, histogramToState, type HistogramState } from './native-histogram.js';
import { GAUGE_MODES, InputSeries, NEVER_FED, NativeOutputSeries, OutputSeries, ProducerScope, ProducerState, contributionOf } from './series.js';
import type { AggregateStore, OutputMode, Targets } from './series.js';
import { Columns, RunReader, RunWriter, StringTable, keepShape, small, type Runs } from './state-columns.js';
import { decodeNumber, readRows, type EncodedNumber, type RowState, type StateV2 } from './state-legacy.js';

const STATE_FORMAT = 'prom-relay.aggregate';

/**
 * What `toState` returns; opaque to other stages (the checkpoint stores it as JSON). Each table is columns, in the
 * order of the aggregate's own tables; a reference is a row index. `targets` (of an input or a contribution): an
 * output index, -1 for none, or -2-k for k outputs listed next in `targetList`. A `Runs` column is a list of
 * non-negative integers where `-c, v` stands for c times v (a run of one value, common there, costs two numbers).
 */
export interface AggregateState {
  format: typeof STATE_FORMAT;
  version: 3;
  tick: number;
  /** ms since the Unix epoch that every time in the state (lastFed, lastSeen) counts from: the newest output feed */
  epoch: number;
  /** label names and values, modes, jobs, families, types and group keys, once each */
  strings: string[];
  /** label name lists (string indices), once each: an output's labels are its shape's names with its values */
  shapes: number[][];
  /** output series fed at least once */
  outputs: {
    shape: Runs;
    /** label values (string indices) by position: `labels[j]` has the j-th value of each output with more than j */
    labels: Runs[];
    mode: Runs;
    job: Runs;
    value: EncodedNumber[];
    lastFed: number[];
    /** indices of the outputs that are a rule's */
    rule: number[];
    /** `native` outputs: index and running histogram, flat */
    native: Array<number | HistogramState>;
  };
  /** outputs of a gauge mode: what they keep besides the output (`refs`: each contribution's scope and input) */
  gauges: { output: number[]; tick: number[]; buckets: number[]; contribs: number[]; refs: number[]; valueAt?: number[] };
  /** valueHistogram bucket bounds, once each (`gauges.buckets` is an index, -1 for none) */
  bucketSets: number[][];
  /** scope key and how many of the inputs (in order) are its */
  scopes: { key: string[]; inputs: number[] };
  /** `group`: 1 + the string index of the group key, 0 for none */
  inputs: { key: string[]; family: Runs; type: Runs; flags: Runs; group: Runs; lastFed: number[]; targets: number[] };
  targetList: number[];
  producers: { id: string[]; job: number[]; lastSeq: number[]; lastSeen: number[]; scopes: number[] };
  /** the producers' scopes, in order (`producers.scopes` of each), with how many counters and contributions are theirs */
  pscopes: { key: string[]; counters: number[]; gauges: number[] };
  /** counter baselines by scope (input index, last cumulative value) */
  counters: { input: number[]; value: EncodedNumber[] };
  /** gauge contributions by scope */
  contribs: { input: number[]; value: EncodedNumber[]; lastFed: number[]; tick: number[]; inGauges: number[]; seq: number[]; targets: number[] };
  /** native histogram baselines: scope index, input index and histogram, flat */
  natives: Array<number | HistogramState>;
  /** newest sample time (ms) applied per producer scope and input (Remote Write): scope index, input index, time, flat */
  stamps?: number[];
}

/** Slots of `StringTable.at` (label positions use the slots from LABEL_SLOT on). */
const MODE = 0;
const JOB = 1;
const FAMILY = 2;
const TYPE = 3;
const GROUP = 4;
const PRODUCER_JOB = 5;
const LABEL_SLOT = 6;

/** Row counts of the columns, found before any is made (pass 1, which also numbers the rows). */
interface Sizes {
  outputs: number;
  rules: number;
  natives: number;
  gauges: number;
  refs: number;
  inputs: number;
  /** an upper bound: targets of several outputs where one is gone are written as none */
  targetList: number;
  counters: number;
  contribs: number;
}

/** What the parts of `writeState` share: the string table, the producers' scope numbers, the columns. */
class StateWriter {
  readonly strings = new StringTable();
  readonly columns: Columns;
  readonly targetList: number[];
  listed = 0;

  constructor(
    /** row index of each producer scope */
    readonly pscopeIndex: ReadonlyMap<ProducerScope, number>,
    /** the state's epoch, as a time of the aggregate's */
    private readonly base: number,
    longest: number,
    targetList: number,
  ) {
    this.columns = new Columns(longest);
    this.targetList = this.columns.of(targetList);
  }

  /** A time of the aggregate's as a time of the state's. */
  time(t: number): number {
    return small(t - this.base);
  }

  /** A target: its output index, -1 for none (a dropped output left the map, its index is stale, and a never-fed one
   *  is not in the state: both void the targets), or -2-k for k outputs appended to `targetList`. */
  targets(t: Targets | null): number {
    if (t === null) return -1;
    if (t instanceof OutputSeries) return indexOf(t);
    if (t.length === 1) return indexOf(t[0]!);
    for (let j = 0; j < t.length; j++) if (indexOf(t[j]!) < 0) return -1;
    for (let j = 0; j < t.length; j++) this.targetList[this.listed++] = t[j]!.stateIndex;
    return -2 - t.length;
  }
}

keepShape(new StateWriter(new Map(), 0, 1, 0));

function indexOf(t: OutputSeries): number {
  return t.dropped || t.lastFed === NEVER_FED ? -1 : t.stateIndex;
}

/** Compact JSON-serialisable state: columns of numbers and strings, indices instead of references. */
export function writeState(store: AggregateStore): AggregateState {
  const pscopeIndex = new Map<ProducerScope, number>();
  const [sizes, newest] = numberRows(store, pscopeIndex);
  // Times count from the newest feed (whole ms): they are small, and the same aggregate writes the same state
  // whenever its process started.
  const base = newest === -Infinity ? 0 : Math.floor(newest);
  const w = new StateWriter(pscopeIndex, base, Math.max(store.scopes.size, store.producers.size, pscopeIndex.size, ...Object.values(sizes)), sizes.targetList);
  const { outputs, gauges, shapes, bucketSets } = writeOutputs(store, w, sizes);
  const { scopes, inputs } = writeInputs(store, w, sizes.inputs);
  const { producers, pscopes, counters, contribs, natives, stamps } = writeProducers(store, w, sizes);
  w.targetList.length = w.listed;
  return {
    format: STATE_FORMAT,
    version: 3,
    tick: store.tick,
    epoch: store.epoch + base,
    strings: w.strings.list,
    shapes,
    outputs,
    gauges,
    bucketSets,
    scopes,
    inputs,
    targetList: w.targetList,
    producers,
    pscopes,
    counters,
    contribs,
    natives,
    ...(stamps !== undefined ? { stamps } : {}),
  };
}

/** Pass 1: the row index of every output and input (`stateIndex`) and producer scope, the size of every column, and
 *  the newest output feed. */
function numberRows(store: AggregateStore, pscopeIndex: Map<ProducerScope, number>): [Sizes, number] {
  const n: Sizes = { outputs: 0, rules: 0, natives: 0, gauges: 0, refs: 0, inputs: 0, targetList: 0, counters: 0, contribs: 0 };
  let newest = -Infinity;
  for (const s of store.outputs.values()) {
    if (s.lastFed === NEVER_FED) {
      s.stateIndex = -1;
      continue;
    }
    s.stateIndex = n.outputs++;
    if (s.lastFed > newest) newest = s.lastFed;
    if (s.rule) n.rules++;
    if (s.gauge !== null) {
      n.gauges++;
      n.refs += 2 * s.gauge.contribs.size;
    }
    if (s instanceof NativeOutputSeries) n.natives += 2;
  }
  for (const scope of store.scopes.values()) {
    for (const input of scope.values()) {
      input.stateIndex = n.inputs++;
      if (Array.isArray(input.targets)) n.targetList += input.targets.length;
    }
  }
  for (const p of store.producers.values()) {
    for (const pscope of p.scopes.values()) {
      pscopeIndex.set(pscope, pscopeIndex.size);
      n.counters += pscope.counters.size;
      if (pscope.gauges === null) continue;
      for (const c of pscope.gauges.values()) {
        // The input left its scope (retype.ts): what is left of the value feeds nothing, ever; it is not written.
        if (c.input.stateIndex < 0) continue;
        n.contribs++;
        if (Array.isArray(c.targets)) n.targetList += c.targets.length;
      }
    }
  }
  return [n, newest];
}

function writeOutputs(store: AggregateStore, w: StateWriter, n: Sizes): Pick<AggregateState, 'outputs' | 'gauges' | 'shapes' | 'bucketSets'> {
  const { strings, columns } = w;
  const value = columns.of<EncodedNumber>(n.outputs);
  const lastFed = columns.of(n.outputs);
  const rule = columns.of(n.rules);
  const native = columns.of<number | HistogramState>(n.natives);
  const shape = new RunWriter();
  const mode = new RunWriter();
  const job = new RunWriter();
  const labels: RunWriter[] = [];
  const gauges: AggregateState['gauges'] = { output: columns.of(n.gauges), tick: columns.of(n.gauges), buckets: columns.of(n.gauges), contribs: columns.of(n.gauges), refs: columns.of(n.refs), valueAt: columns.of(n.gauges) };
  const shapes: number[][] = [];
  const shapeIndex = new Map<string, number>();
  const bucketSets: number[][] = [];
  const bucketIndex = new Map<number[], number>();
  // The label names of the output at hand, and those of the last shape (outputs of one metric follow each other).
  const names: string[] = [];
  let lastNames: string[] | null = null;
  let lastShape = 0;
  let rules = 0;
  let natives = 0;
  let g = 0;
  let refs = 0;
  for (const s of store.outputs.values()) {
    const i = s.stateIndex;
    if (i < 0) continue;
    let k = 0;
    for (const name in s.labels) {
      names[k] = name;
      (labels[k] ??= new RunWriter()).add(strings.at(LABEL_SLOT + k, s.labels[name]!));
      k++;
    }
    let same = lastNames !== null && k === lastNames.length;
    for (let j = 0; same && j < k; j++) same = names[j] === lastNames![j];
    if (!same) {
      lastNames = names.slice(0, k);
      const key = JSON.stringify(lastNames);
      let found = shapeIndex.get(key);
      if (found === undefined) {
        found = shapes.length;
        shapeIndex.set(key, found);
        shapes.push(lastNames.map((name) => strings.of(name)));
      }
      lastShape = found;
    }
    shape.add(lastShape);
    mode.add(strings.at(MODE, s.mode));
    job.add(strings.at(JOB, s.job));
    value[i] = encodeNumber(s.value);
    lastFed[i] = w.time(s.lastFed);
    if (s.rule) rule[rules++] = i;
    if (s instanceof NativeOutputSeries) {
      native[natives++] = i;
      native[natives++] = histogramToState(s.hist);
    }
    if (s.gauge === null) continue;
    gauges.output[g] = i;
    gauges.tick[g] = s.gauge.tick;
    gauges.valueAt![g] = w.time(s.gauge.valueAt);
    gauges.contribs[g] = s.gauge.contribs.size;
    const b = s.gauge.buckets;
    let bi = -1;
    if (b !== null) {
      bi = bucketIndex.get(b) ?? -1;
      if (bi < 0) bucketIndex.set(b, (bi = bucketSets.push(b) - 1));
    }
    gauges.buckets[g++] = bi;
    for (const c of s.gauge.contribs) {
      const owner = w.pscopeIndex.get(c.owner);
      if (owner === undefined) throw new Error(`output ${s.key}: a contribution of a producer that is gone`);
      gauges.refs[refs++] = owner;
      gauges.refs[refs++] = c.input.stateIndex;
    }
  }
  const outputs = { shape: shape.done(), labels: labels.map((l) => l.done()), mode: mode.done(), job: job.done(), value, lastFed, rule, native };
  return { outputs, gauges, shapes, bucketSets };
}

function writeInputs(store: AggregateStore, w: StateWriter, n: number): Pick<AggregateState, 'scopes' | 'inputs'> {
  const { strings, columns } = w;
  const scopes: AggregateState['scopes'] = { key: columns.of(store.scopes.size), inputs: columns.of(store.scopes.size) };
  const key = columns.of<string>(n);
  const lastFed = columns.of(n);
  const targets = columns.of(n);
  const family = new RunWriter();
  const type = new RunWriter();
  const flags = new RunWriter();
  const group = new RunWriter();
  let sc = 0;
  let j = 0;
  for (const scope of store.scopes.values()) {
    scopes.key[sc] = scope.key;
    scopes.inputs[sc++] = scope.size;
    for (const input of scope.values()) {
      key[j] = input.key;
      family.add(strings.at(FAMILY, input.family));
      type.add(strings.at(TYPE, input.type));
      flags.add(input.flags);
      group.add(input.groupKey === null ? 0 : 1 + strings.at(GROUP, input.groupKey));
      lastFed[j] = w.time(input.lastFed);
      targets[j++] = w.targets(input.targets);
    }
  }
  return { scopes, inputs: { key, family: family.done(), type: type.done(), flags: flags.done(), group: group.done(), lastFed, targets } };
}

function writeProducers(store: AggregateStore, w: StateWriter, n: Sizes): Pick<AggregateState, 'producers' | 'pscopes' | 'counters' | 'contribs' | 'natives' | 'stamps'> {
  const np = store.producers.size;
  const producers: AggregateState['producers'] = { id: w.columns.of(np), job: w.columns.of(np), lastSeq: w.columns.of(np), lastSeen: w.columns.of(np), scopes: w.columns.of(np) };
  const nps = w.pscopeIndex.size;
  const pscopes: AggregateState['pscopes'] = { key: w.columns.of(nps), counters: w.columns.of(nps), gauges: w.columns.of(nps) };
  const counters: AggregateState['counters'] = { input: w.columns.of(n.counters), value: w.columns.of(n.counters) };
  const contribs: AggregateState['contribs'] = {
    input: w.columns.of(n.contribs),
    value: w.columns.of(n.contribs),
    lastFed: w.columns.of(n.contribs),
    tick: w.columns.of(n.contribs),
    inGauges: w.columns.of(n.contribs),
    seq: w.columns.of(n.contribs),
    targets: w.columns.of(n.contribs),
  };
  const natives: Array<number | HistogramState> = [];
  const stamps: number[] = [];
  let p = 0;
  let ps = 0;
  let ci = 0;
  let gi = 0;
  for (const producer of store.producers.values()) {
    producers.id[p] = producer.id;
    producers.job[p] = w.strings.at(PRODUCER_JOB, producer.job);
    producers.lastSeq[p] = small(producer.lastSeq);
    producers.lastSeen[p] = w.time(producer.lastSeen);
    producers.scopes[p++] = producer.scopes.size;
    for (const pscope of producer.scopes.values()) {
      pscopes.key[ps] = pscope.key;
      pscopes.counters[ps] = pscope.counters.size;
      // forEach: for-of over a Map's entries allocates an array per entry
      pscope.counters.forEach((v, input) => {
        counters.input[ci] = input.stateIndex;
        counters.value[ci++] = encodeNumber(v);
      });
      if (pscope.gauges !== null) {
        const first = gi;
        for (const c of pscope.gauges.values()) {
          if (c.input.stateIndex < 0) continue; // its input left (see numberRows)
          contribs.input[gi] = c.input.stateIndex;
          contribs.value[gi] = encodeNumber(c.value);
          contribs.lastFed[gi] = w.time(c.lastFed);
          contribs.tick[gi] = c.tick;
          contribs.inGauges[gi] = c.inGauges ? 1 : 0;
          contribs.seq[gi] = small(c.seq);
          contribs.targets[gi++] = w.targets(c.targets);
        }
        pscopes.gauges[ps] = gi - first;
      }
      if (pscope.natives !== null) for (const [input, h] of pscope.natives) natives.push(ps, input.stateIndex, histogramToState(h));
      if (pscope.stamps !== null) {
        // Only for inputs the scope still holds (an input it let go may have left, its index stale).
        for (const [input, at] of pscope.stamps) {
          const held = pscope.counters.has(input) || pscope.gauges?.has(input) === true || pscope.natives?.has(input) === true;
          if (held && input.stateIndex >= 0) stamps.push(ps, input.stateIndex, at);
        }
      }
      ps++;
    }
  }
  return { producers, pscopes, counters, contribs, natives, ...(stamps.length > 0 ? { stamps } : {}) };
}

/** Rebuilds the tables of a fresh aggregate from a version 1, 2 or 3 state; `AggregateError` on foreign or corrupt input. */
export function readState(state: unknown, store: AggregateStore): void {
  const given = state as AggregateState | StateV2 | RowState;
  if (given === null || typeof given !== 'object' || given.format !== STATE_FORMAT || (given.version !== 1 && given.version !== 2 && given.version !== 3)) {
    throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `not an aggregate state (expected format ${STATE_FORMAT} version 1, 2 or 3)`);
  }
  try {
    if (given.version === 3) readColumns(given, store);
    else readRows(given, store);
  } catch (cause) {
    if (cause instanceof AggregateError) throw cause;
    throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `aggregate state is corrupt: ${String(cause)}`, { cause });
  }
}

/** Throws unless every column has `n` rows. */
function rows(n: number, what: string, columns: object): void {
  for (const [name, c] of Object.entries(columns)) {
    if (!Array.isArray(c) || c.length !== n) throw new Error(`${what}.${name} has ${Array.isArray(c) ? c.length : 'no'} rows, expected ${n}`);
  }
}

function sum(counts: number[]): number {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i]!;
  return n;
}

function readColumns(s: AggregateState, store: AggregateStore): void {
  const shift = s.epoch - store.epoch;
  if (!Number.isFinite(shift)) throw new Error('epoch is not a number');
  const text = (i: number): string => {
    const v = s.strings[i];
    if (typeof v !== 'string') throw new Error(`string index ${i} out of range`);
    return v;
  };
  const o = s.outputs;
  const n = o.value.length;
  rows(n, 'outputs', { lastFed: o.lastFed });
  const ng = s.gauges.output.length;
  rows(ng, 'gauges', { tick: s.gauges.tick, buckets: s.gauges.buckets, contribs: s.gauges.contribs, ...(s.gauges.valueAt !== undefined ? { valueAt: s.gauges.valueAt } : {}) });
  rows(2 * sum(s.gauges.contribs), 'gauges', { refs: s.gauges.refs });
  const nIn = sum(s.scopes.inputs);
  rows(s.scopes.key.length, 'scopes', { inputs: s.scopes.inputs });
  rows(nIn, 'inputs', { key: s.inputs.key, lastFed: s.inputs.lastFed, targets: s.inputs.targets });
  const np = s.producers.id.length;
  rows(np, 'producers', s.producers);
  rows(sum(s.producers.scopes), 'pscopes', s.pscopes);
  rows(sum(s.pscopes.counters), 'counters', s.counters);
  rows(sum(s.pscopes.gauges), 'contribs', s.contribs);

  store.tick = s.tick;
  const shapes = s.shapes.map((ids) => {
    const names = ids.map(text);
    return { names, json: `{${names.map((name) => `${JSON.stringify(name)}:""`).join(',')}}` };
  });
  const gaugeRow = new Int32Array(n).fill(-1);
  for (let g = 0; g < ng; g++) gaugeRow[s.gauges.output[g]!] = g;
  const rule = new Uint8Array(n);
  for (const i of o.rule) rule[i] = 1;
  const shapeOf = new RunReader(o.shape, 'outputs.shape');
  const modeOf = new RunReader(o.mode, 'outputs.mode');
  const jobOf = new RunReader(o.job, 'outputs.job');
  const labelValues = o.labels.map((runs, j) => new RunReader(runs, `outputs.labels[${j}]`));
  const valueAt = (_name: string, j: number) => text(labelValues[j]!.next());
  const outputs: OutputSeries[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const shape = shapes[shapeOf.next()];
    if (shape === undefined) throw new Error(`output ${i} has no shape`);
    if (shape.names.length > labelValues.length) throw new Error(`output ${i} has more labels than outputs.labels`);
    const labels = keptLabels(shape.json, shape.names, valueAt);
    const mode = text(modeOf.next()) as OutputMode;
    if (mode !== 'total' && mode !== 'native' && !GAUGE_MODES.has(mode)) throw new Error(`output ${i} has mode ${mode}`);
    const g = gaugeRow[i]!;
    let gauge = null;
    if (g >= 0) {
      const b = s.gauges.buckets[g]!;
      const buckets = b < 0 ? null : s.bucketSets[b];
      if (buckets === undefined) throw new Error(`gauge ${g} has bucket set ${b}`);
      gauge = newGaugeState(mode, labels, buckets);
      gauge.tick = s.gauges.tick[g]!;
    }
    const series = new (mode === 'native' ? NativeOutputSeries : OutputSeries)(outputKey(labels, mode), labels, mode, text(jobOf.next()), o.lastFed[i]! + shift, gauge);
    series.rule = rule[i] === 1;
    series.value = decodeNumber(o.value[i]!);
    // when the `last` value was applied (a state written before it was kept: the last feed, the best estimate)
    if (gauge !== null) gauge.valueAt = s.gauges.valueAt === undefined ? series.lastFed : s.gauges.valueAt[g]! + shift;
    store.addOutput(series);
    outputs[i] = series;
  }
  for (const r of [shapeOf, modeOf, jobOf, ...labelValues]) r.end();
  for (let i = 0; i < o.native.length; i += 2) {
    const series = outputs[o.native[i] as number];
    if (!(series instanceof NativeOutputSeries)) throw new Error(`output ${String(o.native[i])} is not a native histogram`);
    series.hist = histogramFromState(o.native[i + 1]);
  }

  const output = (i: number): OutputSeries => {
    const series = outputs[i];
    if (series === undefined) throw new Error(`output index ${i} out of range`);
    return series;
  };
  let listed = 0;
  const targetsFrom = (t: number): Targets | null => {
    if (t >= 0) return output(t);
    if (t === -1) return null;
    if (-2 - t > s.targetList.length - listed) throw new Error(`targets ${t}: targetList has ${s.targetList.length - listed} left`);
    const list: OutputSeries[] = new Array(-2 - t);
    for (let j = 0; j < list.length; j++) list[j] = output(s.targetList[listed++]!);
    return list;
  };
  const inp = s.inputs;
  const familyOf = new RunReader(inp.family, 'inputs.family');
  const typeOf = new RunReader(inp.type, 'inputs.type');
  const flagsOf = new RunReader(inp.flags, 'inputs.flags');
  const groupOf = new RunReader(inp.group, 'inputs.group');
  const inputs: InputSeries[] = new Array(nIn);
  let j = 0;
  for (let sc = 0; sc < s.scopes.key.length; sc++) {
    const scope = store.scopeOf(s.scopes.key[sc]!);
    for (const end = j + s.scopes.inputs[sc]!; j < end; j++) {
      const family = text(familyOf.next());
      const type = text(typeOf.next()) as InputMetricType;
      const flags = flagsOf.next();
      const group = groupOf.next();
      const input = new InputSeries(inp.key[j]!, family, type, flags, group === 0 ? null : text(group - 1));
      input.lastFed = inp.lastFed[j]! + shift;
      input.targets = targetsFrom(inp.targets[j]!);
      scope.add(input);
      inputs[j] = input;
    }
  }
  for (const r of [familyOf, typeOf, flagsOf, groupOf]) r.end();
  const inputAt = (i: number): InputSeries => {
    const input = inputs[i];
    if (input === undefined) throw new Error(`input index ${i} out of range`);
    return input;
  };

  const pscopes: ProducerScope[] = new Array(s.pscopes.key.length);
  let ps = 0;
  let ci = 0;
  let gi = 0;
  let ni = 0;
  const nat = s.natives;
  const c = s.contribs;
  for (let p = 0; p < np; p++) {
    const producer = new ProducerState(s.producers.id[p]!, text(s.producers.job[p]!), s.producers.lastSeen[p]! + shift);
    producer.lastSeq = s.producers.lastSeq[p]!;
    for (const end = ps + s.producers.scopes[p]!; ps < end; ps++) {
      const pscope = new ProducerScope(producer, s.pscopes.key[ps]!);
      if (ni < nat.length && nat[ni] === ps) {
        pscope.natives = new Map();
        for (; ni < nat.length && nat[ni] === ps; ni += 3) {
          const input = inputAt(nat[ni + 1] as number);
          pscope.natives.set(input, histogramFromState(nat[ni + 2]));
          input.holders++;
        }
      }
      for (const end2 = ci + s.pscopes.counters[ps]!; ci < end2; ci++) {
        const input = inputAt(s.counters.input[ci]!);
        pscope.counters.set(input, decodeNumber(s.counters.value[ci]!));
        input.holders++;
      }
      for (const end2 = gi + s.pscopes.gauges[ps]!; gi < end2; gi++) {
        const contrib = contributionOf(pscope, inputAt(c.input[gi]!));
        contrib.seq = c.seq[gi]!;
        contrib.value = decodeNumber(c.value[gi]!);
        contrib.lastFed = c.lastFed[gi]! + shift;
        contrib.tick = c.tick[gi]!;
        contrib.inGauges = c.inGauges[gi] === 1;
        contrib.targets = targetsFrom(c.targets[gi]!);
      }
      producer.scopes.set(pscope.key, pscope);
      pscopes[ps] = pscope;
    }
    store.producers.set(producer.id, producer);
  }
  if (ni !== nat.length) throw new Error('natives out of order or of an unknown scope');
  const stamps = s.stamps ?? [];
  if (!Array.isArray(stamps) || stamps.length % 3 !== 0) throw new Error('stamps is not a list of scope, input and time');
  for (let k = 0; k < stamps.length; k += 3) {
    const pscope = pscopes[stamps[k]!];
    if (pscope === undefined) throw new Error(`stamps name scope ${stamps[k]}, not in the state`);
    (pscope.stamps ??= new Map()).set(inputAt(stamps[k + 1]!), stamps[k + 2]!);
  }
  if (listed !== s.targetList.length) throw new Error(`targetList has ${s.targetList.length} rows, ${listed} used`);

  let r = 0;
  for (let g = 0; g < ng; g++) {
    const gauge = outputs[s.gauges.output[g]!]?.gauge;
    if (gauge === null || gauge === undefined) throw new Error(`gauge ${g} names output ${s.gauges.output[g]}, not a gauge`);
    for (const end = r + 2 * s.gauges.contribs[g]!; r < end; r += 2) {
      const contrib = pscopes[s.gauges.refs[r]!]?.gauges?.get(inputAt(s.gauges.refs[r + 1]!));
      if (contrib === undefined) throw new Error(`gauge ${g} names a contribution that is not in the state`);
      gauge.contribs.add(contrib);
    }
  }
}

function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return small(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}
