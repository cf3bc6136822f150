/**
 * Reads a version 3, 4 or 5 checkpoint state (the shape in state-format.ts) back into the tables of a fresh aggregate:
 * every column's length checked first, then outputs, inputs and producers rebuilt in order, references resolved by
 * row index. Throws an Error naming what is wrong; `readState` (state.ts) wraps it as an AggregateError.
 */
import type { InputMetricType } from '../model.js';
import { InputNumbers } from './input-numbers.js';
import { inSortedOrder, keptLabels } from './labels.js';
import { newGaugeState } from './outputs.js';
import { outputKey } from './plan.js';
import { histogramFromState } from './native-histogram.js';
import { GAUGE_MODES, InputGroup, InputSeries, NativeOutputSeries, OutputSeries, ProducerState, contributionOf, isLegacyGroupKey, newOutput, relTime, stateScope } from './series.js';
import type { AggregateStore, OutputMode, ProducerScope, Targets } from './series.js';
import { RunReader } from './state-columns.js';
import type { AggregateState } from './state-format.js';
import { decodeNumber } from './state-legacy.js';

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

export function readColumns(s: AggregateState, store: AggregateStore): void {
  const shift = relTime(s.epoch - store.epoch);
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
    const series = newOutput(inSortedOrder(labels), mode, text(jobOf.next()), o.lastFed[i]! + shift, gauge);
    series.rule = rule[i] === 1;
    series.value = decodeNumber(o.value[i]!);
    // when the `last` value was applied (a state written before it was kept: the last feed, the best estimate)
    if (gauge !== null) gauge.valueAt = s.gauges.valueAt === undefined ? series.lastFed : s.gauges.valueAt[g]! + shift;
    store.addOutput(series, outputKey(labels, mode));
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
  // Version 5: the start of its key an input shares (1 + a string index, 0 for none), its `key` the rest.
  const headOf = s.version === 5 ? new RunReader(inp.head ?? [], 'inputs.head') : null;
  const inputs: InputSeries[] = new Array(nIn);
  const inputScope: string[] = new Array(nIn);
  // One InputGroup per histogram or summary instance, as when its series were created.
  const groups = new Map<number, InputGroup>();
  const groupOfIndex = (group: number, family: string): InputGroup => {
    let g = groups.get(group);
    if (g === undefined) groups.set(group, (g = new InputGroup(family, text(group - 1))));
    return g;
  };
  let j = 0;
  for (let sc = 0; sc < s.scopes.key.length; sc++) {
    const scope = store.scopeOf(s.scopes.key[sc]!);
    for (const end = j + s.scopes.inputs[sc]!; j < end; j++) {
      const family = text(familyOf.next());
      const type = text(typeOf.next()) as InputMetricType;
      const flags = flagsOf.next();
      const group = groupOf.next();
      const rest = inp.key[j]!;
      if (typeof rest !== 'string') throw new Error(`input ${j} has no key`);
      const h = headOf === null ? -1 : headOf.next();
      // (a state before version 5: the key whole, its head found as when the inputs were made)
      const head = h > 0 ? text(h - 1) : h === 0 ? '' : scope.keyHead(rest, true);
      const key = h > 0 ? head + rest : rest;
      const input = new InputSeries(key, family, type, flags, group === 0 ? null : groupOfIndex(group, family), head, h > 0 ? rest : undefined);
      input.lastFed = inp.lastFed[j]! + shift;
      input.targets = targetsFrom(inp.targets[j]!);
      scope.add(input, key);
      inputs[j] = input;
      inputScope[j] = scope.key;
    }
  }
  for (const r of [familyOf, typeOf, flagsOf, groupOf]) r.end();
  headOf?.end();
  const inputAt = (i: number): InputSeries => {
    const input = inputs[i];
    if (input === undefined) throw new Error(`input index ${i} out of range`);
    return input;
  };

  // A row's producer scope for the input at index i (rows of a state written before keys named the group: one per group).
  const rowProducer: ProducerState[] = new Array(s.pscopes.key.length);
  const rowLastSeen: number[] = new Array(s.pscopes.key.length);
  const scopeOf = (row: number, i: number): ProducerScope => {
    const producer = rowProducer[row];
    if (producer === undefined) throw new Error(`producer scope ${row} is not in the state`);
    inputAt(i);
    return stateScope(producer, s.pscopes.key[row]!, rowLastSeen[row]!, inputScope[i]!);
  };
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
      rowProducer[ps] = producer;
      rowLastSeen[ps] = s.pscopes.lastSeen === undefined ? producer.lastSeen : s.pscopes.lastSeen[ps]! + shift;
      // A row of this format is a producer scope even when it holds nothing yet.
      if (!isLegacyGroupKey(s.pscopes.key[ps]!)) stateScope(producer, s.pscopes.key[ps]!, rowLastSeen[ps]!, '');
      for (; ni < nat.length && nat[ni] === ps; ni += 3) {
        const input = inputAt(nat[ni + 1] as number);
        (scopeOf(ps, nat[ni + 1] as number).natives ??= new Map()).set(input, histogramFromState(nat[ni + 2]));
        input.holders++;
      }
      for (const end2 = ci + s.pscopes.counters[ps]!; ci < end2; ci++) {
        const input = inputAt(s.counters.input[ci]!);
        scopeOf(ps, s.counters.input[ci]!).counters.set(input, decodeNumber(s.counters.value[ci]!));
        input.holders++;
      }
      for (const end2 = gi + s.pscopes.gauges[ps]!; gi < end2; gi++) {
        const contrib = contributionOf(store, scopeOf(ps, c.input[gi]!), inputAt(c.input[gi]!));
        contrib.seq = c.seq[gi]!;
        contrib.value = decodeNumber(c.value[gi]!);
        contrib.lastFed = c.lastFed[gi]! + shift;
        contrib.tick = c.tick[gi]!;
        contrib.flagBits = c.inGauges[gi]!;
        contrib.targets = targetsFrom(c.targets[gi]!);
      }
    }
    store.producers.set(producer.id, producer);
  }
  if (ni !== nat.length) throw new Error('natives out of order or of an unknown scope');
  const stamps = s.stamps ?? [];
  if (!Array.isArray(stamps) || stamps.length % 3 !== 0) throw new Error('stamps is not a list of scope, input and time');
  for (let k = 0; k < stamps.length; k += 3) {
    if (rowProducer[stamps[k]!] === undefined) throw new Error(`stamps name scope ${stamps[k]}, not in the state`);
    (scopeOf(stamps[k]!, stamps[k + 1]!).stamps ??= new InputNumbers()).set(inputAt(stamps[k + 1]!), stamps[k + 2]! + shift);
  }
  if (listed !== s.targetList.length) throw new Error(`targetList has ${s.targetList.length} rows, ${listed} used`);

  let r = 0;
  for (let g = 0; g < ng; g++) {
    const gauge = outputs[s.gauges.output[g]!]?.gauge;
    if (gauge === null || gauge === undefined) throw new Error(`gauge ${g} names output ${s.gauges.output[g]}, not a gauge`);
    for (const end = r + 2 * s.gauges.contribs[g]!; r < end; r += 2) {
      const row = s.gauges.refs[r]!;
      const contrib = rowProducer[row] === undefined ? undefined : scopeOf(row, s.gauges.refs[r + 1]!).gauges?.get(inputAt(s.gauges.refs[r + 1]!));
      if (contrib === undefined) throw new Error(`gauge ${g} names a contribution that is not in the state`);
      gauge.contribs.add(contrib);
    }
  }
}
