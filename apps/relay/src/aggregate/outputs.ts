/**
 * The value of an output series: how a fed value moves it (`feedTarget`), how gauge modes reduce their live
 * contributions (`last`, `sum`, `min`, `max`, `avg`, `count`, value histograms) and how partials of several
 * partitions combine downstream. Functions over one series; no tables.
 */
import type { Labels } from '@prom-relay/codec';
import type { CombineMode, OutputSample } from '../model.js';
import { keyOfLabels, sortedLabelsFrom } from './labels.js';
import { GaugeState, targetList } from './series.js';
import type { Contribution, OutputMode, OutputSeries } from './series.js';

/** A fed value reaches output `t`: a total adds the increase, a gauge mode takes the contribution in. */
export function feedTarget(t: OutputSeries, c: Contribution | null, v: number, increase: number, now: number, gen: number): void {
  t.lastFed = now;
  t.fedGen = gen;
  const gauge = t.gauge;
  if (gauge === null) {
    t.value += increase;
  } else {
    gauge.contribs.add(c!);
    c!.inGauges = true;
    if (t.mode === 'last') {
      t.value = v;
      gauge.valueAt = now;
      gauge.tick = c!.tick;
    }
  }
}

/** `c` leaves the gauge-mode outputs it fed; each is marked changed (`gen`: published at the next collect). */
export function leaveGauges(c: Contribution, gen: number): void {
  if (!c.inGauges) return;
  c.inGauges = false;
  const targets = c.targets ?? c.input.targets;
  if (targets === null) return;
  for (const t of targetList(targets)) {
    const gauge = t.gauge;
    if (gauge === null || !gauge.contribs.delete(c)) continue;
    t.fedGen = gen;
    if (t.mode === 'last' && gauge.tick === c.tick) recomputeLast(t);
  }
}

/** A `last` output after its latest contribution left: the value of the most recently updated one still live. */
export function recomputeLast(s: OutputSeries): void {
  let best: Contribution | null = null;
  for (const c of s.gauge!.contribs) if (best === null || c.tick > best.tick) best = c;
  if (best !== null) {
    s.value = best.value;
    s.gauge!.valueAt = best.lastFed;
    s.gauge!.tick = best.tick;
  }
}

export function gaugeValue(mode: OutputMode, contribs: Set<Contribution>): number {
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

/** The `_bucket`s, `_sum` and `_count` samples of a `histogram` output over plain values. */
export function emitValueHistogram(s: GaugeState, out: OutputSample[]): void {
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

/** What a gauge-mode output keeps (for a value histogram: the label sets of its parts). */
export function newGaugeState(mode: OutputMode, labels: Labels, buckets: number[] | null): GaugeState {
  return new GaugeState(mode === 'valueHistogram' ? histogramParts(labels, buckets!) : null, buckets);
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

/** The output's `labelsKey` (its key in the outputs carries a mode prefix for modes other than total and last), built. */
export function labelsKeyOf(s: OutputSeries): string {
  return keyOfLabels(s.labels);
}

/** How a mode's partials from several source partitions combine: counts add up, like sums. */
export function combineOf(mode: OutputMode): CombineMode {
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
    case 'native':
      return 'native';
  }
}
