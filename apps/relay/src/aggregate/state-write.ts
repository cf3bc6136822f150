/**
 * Writes an aggregate's tables as its checkpoint state, version 5 (`writeState`; the shape in state-format.ts).
 * Pass 1 numbers the rows and sizes every column; then outputs, inputs and producers are written as columns sized
 * once: label values, jobs, families and other repeated strings as indices into one string table, label names as
 * shapes, columns where values repeat as runs, times counted from the newest output feed.
 */
import { histogramToState, type HistogramState } from './native-histogram.js';
import { NEVER_FED, NativeOutputSeries, OutputSeries } from './series.js';
import type { AggregateStore, InputSeries, ProducerScope, Targets } from './series.js';
import { Columns, RunWriter, StringTable, keepShape, small } from './state-columns.js';
import { STATE_FORMAT, type AggregateState } from './state-format.js';
import type { EncodedNumber } from './state-legacy.js';

/** Slots of `StringTable.at` (label positions use the slots from LABEL_SLOT on). */
const MODE = 0;
const JOB = 1;
const FAMILY = 2;
const TYPE = 3;
const GROUP = 4;
const PRODUCER_JOB = 5;
const HEAD = 6;
const LABEL_SLOT = 7;

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
    /** row index of each input written (numberRows) */
    readonly inputRows: InputRows,
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

  /** A target: its output index, -1 for none (a dropped output left the map and a never-fed one is not in the state:
   *  both void the targets), or -2-k for k outputs appended to `targetList`. */
  targets(t: Targets | null): number {
    if (t === null) return -1;
    if (t instanceof OutputSeries) return this.output(t);
    if (t.length === 1) return this.output(t[0]!);
    for (let j = 0; j < t.length; j++) if (this.output(t[j]!) < 0) return -1;
    for (let j = 0; j < t.length; j++) this.targetList[this.listed++] = t[j]!.stateRow;
    return -2 - t.length;
  }

  /** An output's row, -1 for none (a dropped output left the outputs: its row is of an earlier state; a never-fed one is not written). */
  output(t: OutputSeries): number {
    return t.dropped ? -1 : t.stateRow;
  }

  /** An input's row, -1 for none (it left its scope: retype.ts, expiry.ts). */
  input(input: InputSeries): number {
    return this.inputRows.rowOf(input);
  }
}

/**
 * The row of each input a state writes (kept while it is written, not on each input: 8 B an input for as long as it
 * lived) (`inputs`, in row order). By the input's id (InputSeries.id: consecutive in
 * the order inputs are made) where the live inputs' ids lie close together, as they do unless inputs came and went by
 * the million: two arrays over the ids' range, which is at most 4x the inputs (~12 B an input while a state is written,
 * and a lookup an array read, where a V8 Map took ~40 B an entry and ~60 % more CPU for the whole state); else a Map.
 * (Exported for its test.)
 */
export class InputRows {
  private base = 0;
  private byId: Array<InputSeries | undefined> | null = null;
  private rowById: Int32Array | null = null;
  private byInput: Map<InputSeries, number> | null = null;

  constructor(inputs: InputSeries[]) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < inputs.length; j++) {
      const id = inputs[j]!.id;
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    const range = hi - lo + 1;
    if (inputs.length > 0 && range <= 4 * inputs.length + 1024) {
      const byId: Array<InputSeries | undefined> = new Array(range);
      const rowById = new Int32Array(range);
      let clash = false;
      for (let j = 0; j < inputs.length && !clash; j++) {
        const k = inputs[j]!.id - lo;
        // (two live inputs of one id: ids wrapped after 2^30 inputs while the older lived on)
        if (byId[k] !== undefined) clash = true;
        byId[k] = inputs[j];
        rowById[k] = j;
      }
      if (!clash) {
        this.base = lo;
        this.byId = byId;
        this.rowById = rowById;
        return;
      }
    }
    const byInput = (this.byInput = new Map());
    for (let j = 0; j < inputs.length; j++) byInput.set(inputs[j]!, j);
  }

  rowOf(input: InputSeries): number {
    const byId = this.byId;
    if (byId === null) return this.byInput!.get(input) ?? -1;
    const k = input.id - this.base;
    return k >= 0 && k < byId.length && byId[k] === input ? this.rowById![k]! : -1;
  }
}

keepShape(new StateWriter(new Map(), new InputRows([]), 0, 1, 0));

/** Compact JSON-serialisable state: columns of numbers and strings, indices instead of references. */
export function writeState(store: AggregateStore): AggregateState {
  // Each output's row in the state takes its `fedGen`'s place while the state is written (OutputSeries.stateRow);
  // the ones lent (not NaN: all, unless numberRows threw) are given back.
  const fedGens = new Float64Array(store.outputs.size).fill(NaN);
  try {
    return writeWithRows(store, fedGens);
  } finally {
    let i = 0;
    for (const s of store.outputs.values()) {
      const g = fedGens[i++]!;
      if (!Number.isNaN(g)) s.fedGen = g;
    }
  }
}

function writeWithRows(store: AggregateStore, fedGens: Float64Array): AggregateState {
  const pscopeIndex = new Map<ProducerScope, number>();
  const [sizes, newest, inputRows] = numberRows(store, pscopeIndex, fedGens);
  // Times count from the newest feed (whole ms): they are small, and the same aggregate writes the same state
  // whenever its process started.
  const base = newest === -Infinity ? 0 : Math.floor(newest);
  const w = new StateWriter(pscopeIndex, inputRows, base, Math.max(store.scopes.size, store.producers.size, pscopeIndex.size, ...Object.values(sizes)), sizes.targetList);
  const { outputs, gauges, shapes, bucketSets } = writeOutputs(store, w, sizes);
  const { scopes, inputs } = writeInputs(store, w, sizes.inputs);
  const { producers, pscopes, counters, contribs, natives, stamps } = writeProducers(store, w, sizes);
  w.targetList.length = w.listed;
  return {
    format: STATE_FORMAT,
    version: 5,
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

/** Pass 1: the row index of every output (in its `fedGen`, kept in `fedGens`: OutputSeries.stateRow) and input
 *  (InputRows) and producer scope, the size of every column, and the newest output feed. */
function numberRows(store: AggregateStore, pscopeIndex: Map<ProducerScope, number>, fedGens: Float64Array): [Sizes, number, InputRows] {
  const n: Sizes = { outputs: 0, rules: 0, natives: 0, gauges: 0, refs: 0, inputs: 0, targetList: 0, counters: 0, contribs: 0 };
  let newest = -Infinity;
  let i = 0;
  for (const s of store.outputs.values()) {
    fedGens[i++] = s.fedGen;
    if (s.lastFed === NEVER_FED) {
      s.fedGen = 0;
      continue;
    }
    s.fedGen = ++n.outputs;
    if (s.lastFed > newest) newest = s.lastFed;
    if (s.rule) n.rules++;
    if (s.gauge !== null) {
      n.gauges++;
      n.refs += 2 * s.gauge.contribs.size;
    }
    if (s instanceof NativeOutputSeries) n.natives += 2;
  }
  const inputs: InputSeries[] = [];
  for (const scope of store.scopes.values()) {
    for (const input of scope.values()) {
      inputs.push(input);
      n.inputs++;
      if (Array.isArray(input.targets)) n.targetList += input.targets.length;
    }
  }
  const inputRows = new InputRows(inputs);
  for (const p of store.producers.values()) {
    for (const pscope of p.scopes.values()) {
      pscopeIndex.set(pscope, pscopeIndex.size);
      n.counters += pscope.counters.size;
      if (pscope.gauges === null) continue;
      for (const c of pscope.gauges.values()) {
        // The input left its scope (retype.ts): what is left of the value feeds nothing, ever; it is not written.
        if (inputRows.rowOf(c.input) < 0) continue;
        n.contribs++;
        if (Array.isArray(c.targets)) n.targetList += c.targets.length;
      }
    }
  }
  return [n, newest, inputRows];
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
    const i = w.output(s);
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
      gauges.refs[refs++] = w.input(c.input);
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
  const head = new RunWriter();
  let sc = 0;
  let j = 0;
  for (const scope of store.scopes.values()) {
    scopes.key[sc] = scope.key;
    scopes.inputs[sc++] = scope.size;
    for (const input of scope.values()) {
      // as the input keeps it: no key built (a string built of two would be flattened again by JSON.stringify)
      key[j] = input.keyTail;
      head.add(input.keyHead.length === 0 ? 0 : 1 + strings.at(HEAD, input.keyHead));
      family.add(strings.at(FAMILY, input.family));
      type.add(strings.at(TYPE, input.type));
      flags.add(input.flags);
      group.add(input.groupKey === null ? 0 : 1 + strings.at(GROUP, input.groupKey));
      lastFed[j] = w.time(input.lastFed);
      targets[j++] = w.targets(input.targets);
    }
  }
  return { scopes, inputs: { key, head: head.done(), family: family.done(), type: type.done(), flags: flags.done(), group: group.done(), lastFed, targets } };
}

function writeProducers(store: AggregateStore, w: StateWriter, n: Sizes): Pick<AggregateState, 'producers' | 'pscopes' | 'counters' | 'contribs' | 'natives' | 'stamps'> {
  const np = store.producers.size;
  const producers: AggregateState['producers'] = { id: w.columns.of(np), job: w.columns.of(np), lastSeq: w.columns.of(np), lastSeen: w.columns.of(np), scopes: w.columns.of(np) };
  const nps = w.pscopeIndex.size;
  const pscopes: AggregateState['pscopes'] = { key: w.columns.of(nps), counters: w.columns.of(nps), gauges: w.columns.of(nps), lastSeen: w.columns.of(nps) };
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
      pscopes.lastSeen![ps] = w.time(pscope.lastSeen);
      pscopes.counters[ps] = pscope.counters.size;
      // forEach: for-of over a Map's entries allocates an array per entry
      pscope.counters.forEach((v, input) => {
        counters.input[ci] = w.input(input);
        counters.value[ci++] = encodeNumber(v);
      });
      if (pscope.gauges !== null) {
        const first = gi;
        for (const c of pscope.gauges.values()) {
          const row = w.input(c.input);
          if (row < 0) continue; // its input left (see numberRows)
          contribs.input[gi] = row;
          contribs.value[gi] = encodeNumber(c.value);
          contribs.lastFed[gi] = w.time(c.lastFed);
          contribs.tick[gi] = c.tick;
          contribs.inGauges[gi] = c.flagBits;
          contribs.seq[gi] = small(c.seq);
          contribs.targets[gi++] = w.targets(c.targets);
        }
        pscopes.gauges[ps] = gi - first;
      }
      if (pscope.natives !== null) for (const [input, h] of pscope.natives) natives.push(ps, w.input(input), histogramToState(h));
      if (pscope.stamps !== null) {
        // Every input a scope holds (numbered above; one that left has none), also where the value left (a staleness
        // marker): a retried older sample is refused after a restore as before it.
        pscope.stamps.forEach((at, input) => {
          const row = w.input(input);
          if (row >= 0) stamps.push(ps, row, w.time(at));
        });
      }
      ps++;
    }
  }
  return { producers, pscopes, counters, contribs, natives, ...(stamps.length > 0 ? { stamps } : {}) };
}

function encodeNumber(v: number): EncodedNumber {
  if (Number.isFinite(v)) return small(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}
