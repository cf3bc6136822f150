/**
 * One point's value entering the state, once `apply` has resolved its input series and output targets: the
 * producer's counter baseline turns a cumulative value into an increase, its gauge contribution takes the value, and
 * every target output moves (outputs.ts). `feedLate` is the same for a push whose sequence number the producer
 * already passed. Runs per point: no allocation beyond a producer's first contribution to an input.
 */
import type { Exemplar } from '@prom-relay/codec';
import { isNewerExemplar } from '../exemplars.js';
import { feedTarget } from './outputs.js';
import { addInto, increaseOf, type NativeHistogram } from './native-histogram.js';
import { HAS_GAUGE, HAS_TOTAL, NEVER_FED, NativeOutputSeries, OutputSeries, contributionOf, targetList } from './series.js';
import type { AggregateStore, Contribution, InputSeries, ProducerScope, Targets } from './series.js';

/** A point of a push in sequence (or without one): a counter adds its increase, a gauge contribution takes the value. */
export function feed(store: AggregateStore, pscope: ProducerScope, input: InputSeries, targets: Targets, v: number, delta: boolean, now: number, seq: number, snapshot: boolean): void {
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
    c = contributionOf(store, pscope, input);
    c.value = v;
    c.lastFed = now;
    c.tick = ++store.tick;
    c.seq = seq;
    c.snapshot = snapshot;
  }
  input.lastFed = now;
  const gen = store.generation;
  if (targets instanceof OutputSeries) feedTarget(targets, c, v, increase, now, gen);
  else for (let j = 0; j < targets.length; j++) feedTarget(targets[j]!, c, v, increase, now, gen);
}

/**
 * A point of a push whose sequence number the producer already passed. Cumulative counters take only what goes
 * beyond the baseline (a replayed value adds nothing; a push that arrived late adds what it first counted), gauges
 * only a value newer than their own, deltas nothing (a replay cannot be told from a late one). Answers whether it
 * changed anything.
 */
export function feedLate(store: AggregateStore, pscope: ProducerScope, input: InputSeries, targets: Targets, v: number, delta: boolean, now: number, seq: number, snapshot: boolean): boolean {
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
      c = contributionOf(store, pscope, input);
      c.value = v;
      c.lastFed = now;
      c.tick = ++store.tick;
      c.seq = seq;
      c.snapshot = snapshot;
      changed = true;
    }
  }
  if (!changed) return false;
  input.lastFed = now;
  for (const t of targetList(targets)) {
    if (t.gauge === null) {
      if (increase > 0 || t.lastFed === NEVER_FED) feedTarget(t, null, v, increase, now, store.generation);
    } else if (c !== null) feedTarget(t, c, v, 0, now, store.generation);
  }
  return true;
}

/**
 * A native histogram point: the producer's previous cumulative histogram turns it into an increase (all of it on a
 * reset, or for a new producer, or for a delta), which every target's running histogram takes in. `late` (a forwarded
 * push the producer already passed) applies only what goes beyond the baseline, like `feedLate` for counters.
 * Answers whether it changed anything.
 */
export function feedNative(store: AggregateStore, pscope: ProducerScope, input: InputSeries, targets: Targets, h: NativeHistogram, delta: boolean, now: number, late: boolean): boolean {
  const natives = (pscope.natives ??= new Map());
  const last = natives.get(input);
  let inc: NativeHistogram | null;
  if (late) {
    if (delta) return false;
    inc = last === undefined ? h : increaseOf(last, h);
    if (inc === null || inc.count <= 0) return false;
  } else {
    inc = delta || last === undefined ? h : (increaseOf(last, h) ?? h);
  }
  // A baseline holds the input (a delta keeps none).
  if (!delta) {
    if (last === undefined) input.holders++;
    natives.set(input, h);
  }
  input.lastFed = now;
  for (const t of targetList(targets)) {
    t.lastFed = now;
    t.fedGen = store.generation;
    if (t instanceof NativeOutputSeries) addInto(t.hist, inc);
  }
  return true;
}

/**
 * A fed point's exemplar: the latest of every target output series (by timestamp; see isNewerExemplar), stamped
 * with the current generation so the next `collect` hands it on once (and a total it came to alone, unchanged, is
 * collected with it: `fedGen`). One without a timestamp takes the push's (`atMs`, the record's: a replay stamps the
 * same), as Prometheus stamps a scraped one with the scrape's: from here on the newest is told by timestamp alone, so
 * an owner told one twice (a full publish repeats the last flush's) keeps it once.
 */
export function feedExemplar(store: AggregateStore, targets: Targets, exemplar: Exemplar, atMs: number): void {
  if (exemplar.timestamp === undefined || exemplar.timestamp === 0) exemplar = { ...exemplar, timestamp: atMs };
  const gen = store.generation;
  for (const t of targetList(targets)) {
    const held = store.exemplars.get(t);
    if (held === undefined) store.exemplars.set(t, { exemplar, gen });
    else if (isNewerExemplar(exemplar, held.exemplar)) {
      held.exemplar = exemplar;
      held.gen = gen;
    } else continue;
    t.fedGen = gen;
  }
}
