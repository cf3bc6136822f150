/**
 * What ends, and the flush's view of what lives: `collect` yields one sample per active output series and ends those
 * not fed for `seriesTtlMs` (totals: `counterTtlMs`; one stale sample, then gone), contributions not fed for
 * `seriesTtlMs`, producers silent for `producerTtlMs` (and a live producer's baselines of series nobody fed for
 * `counterTtlMs + producerTtlMs`), and input series nothing holds any more. `endJob` is an `op: delete` of a whole
 * job (no grouping labels); what a push or delete of one group ends is in group-ends.ts.
 */
import type { OutputSample } from '../model.js';
import type { ResolvedOptions } from './options.js';
import { combineOf, emitValueHistogram, gaugeValue, labelsKeyOf, leaveGauges, recomputeLast } from './outputs.js';
import { cloneHistogram } from './native-histogram.js';
import { NEVER_FED, NativeOutputSeries, dropContribution, relTime, replaceKey } from './series.js';
import type { AggregateStore, InputSeries, OutputSeries, ProducerScope, ProducerState } from './series.js';

/** `PartitionAggregate.collect`: one sample per active output series (stale ones once), then the sweep. */
export function collectOutputs(store: AggregateStore, opts: ResolvedOptions, nowMs: number, onlyFed = false): OutputSample[] {
  const gen = store.generation++;
  const now = relTime(nowMs - store.epoch);
  const ttl = opts.seriesTtlMs;
  const counterTtl = opts.counterTtlMs;
  const out: OutputSample[] = [];
  // The latest exemplar of a series goes out with its sample once: when it came since the last collect. A full
  // collect (a source's first, every 30 min, after a failed publish) also repeats the previous collect's, which a
  // failed publish lost; an owner keeps a repeated one once (same timestamp).
  const exemplars = store.exemplars.size > 0 ? store.exemplars : null;
  const since = onlyFed ? gen : gen - 1;
  const push = (s: OutputSeries, sample: OutputSample): void => {
    if (exemplars !== null) {
      const held = exemplars.get(s);
      if (held !== undefined && held.gen >= since) sample.exemplar = held.exemplar;
    }
    out.push(sample);
  };
  if (store.ended.length > 0) {
    // Ended by a whole-job delete: the stale sample goes first, so an owner sees the end before a new run's value.
    // A total's end carries its final total: what the job pushed since the last publish is in no partial yet.
    for (const s of store.ended) {
      const end: OutputSample = { labels: s.labels, value: NaN, stale: true, combine: combineOf(s.mode), key: labelsKeyOf(s) };
      if (s.gauge === null) {
        end.final = s instanceof NativeOutputSeries ? { value: s.hist.count, histogram: s.hist } : { value: s.value };
        const by = store.endedBy.get(s);
        if (by !== undefined) end.final.offset = by;
      }
      out.push(end);
    }
    store.ended = [];
    store.endedBy.clear();
  }
  for (const s of store.outputs.values()) {
    if (s.lastFed === NEVER_FED) {
      // Created for a batch whose histogram was then rejected: never shown, so it ends silently.
      store.dropOutput(s);
      continue;
    }
    const gauge = s.gauge;
    if (gauge === null) {
      // A total (counter, histogram part, summary _sum/_count): kept and flushed until not fed for counterTtlMs.
      if (now - s.lastFed >= counterTtl) emitStale(store, s, out);
      else if (onlyFed && s.fedGen !== gen) continue;
      else if (s instanceof NativeOutputSeries) {
        // A copy: the flush sends it after this returns, while later pushes go on changing the running histogram.
        push(s, { labels: s.labels, value: s.hist.count, combine: 'native', key: labelsKeyOf(s), histogram: cloneHistogram(s.hist) });
      } else push(s, { labels: s.labels, value: s.value, combine: 'total', key: s.key });
      continue;
    }
    if (now - s.lastFed >= ttl) {
      emitStale(store, s, out);
      continue;
    }
    const contribs = gauge.contribs;
    let expiredLast = false;
    // Fed since the last collect, or a contribution left since (expired here, deleted, its producer forgotten).
    let changed = s.fedGen === gen;
    for (const c of contribs) {
      if (now - c.lastFed >= ttl) {
        contribs.delete(c);
        changed = true;
        if (c.tick === gauge.tick) expiredLast = true;
      }
    }
    if (contribs.size === 0) {
      emitStale(store, s, out);
      continue;
    }
    if (onlyFed && !changed) continue;
    if (s.mode === 'last') {
      if (expiredLast) recomputeLast(s);
      push(s, { labels: s.labels, value: s.value, combine: 'last', at: s.gauge!.valueAt + store.epoch, key: s.key });
    } else if (s.mode === 'valueHistogram') {
      emitValueHistogram(gauge, out);
    } else if (s.mode === 'avg') {
      let sum = 0;
      for (const c of contribs) sum += c.value;
      push(s, { labels: s.labels, value: sum / contribs.size, combine: 'avg', sum, count: contribs.size, key: labelsKeyOf(s) });
    } else {
      push(s, { labels: s.labels, value: gaugeValue(s.mode, contribs), combine: combineOf(s.mode), key: labelsKeyOf(s) });
    }
  }
  sweep(store, opts, now);
  return out;
}

function emitStale(store: AggregateStore, s: OutputSeries, out: OutputSample[]): void {
  const parts = s.gauge?.parts;
  if (parts) parts.forEach((labels, i) => out.push({ labels, value: NaN, stale: true, combine: 'sum', key: s.gauge!.partKeys![i]! }));
  else out.push({ labels: s.labels, value: NaN, stale: true, combine: combineOf(s.mode), key: labelsKeyOf(s) });
  store.dropOutput(s);
}

/**
 * Forgets expired producers and lets live ones go of the series they stopped pushing, then input series no producer
 * holds that were not fed for `seriesTtlMs`.
 */
function sweep(store: AggregateStore, opts: ResolvedOptions, now: number): void {
  const producerTtl = opts.producerTtlMs;
  for (const p of store.producers.values()) {
    if (now - p.lastSeen >= producerTtl) forgetProducer(store, p);
  }
  // Every collect, not less often: what a restored aggregate lets go must be what the one that wrote the state did.
  for (const p of store.producers.values()) releaseSilentSeries(store, p, opts, now);
  const ttl = opts.seriesTtlMs;
  for (const scope of store.scopes.values()) {
    for (const input of scope.values()) {
      if (input.holders === 0 && now - input.lastFed >= ttl) {
        scope.remove(input); // never in a checkpoint again (state-write.ts numbers the inputs scopes hold)
      }
    }
    if (scope.size === 0) store.scopes.delete(scope.key);
  }
}

/**
 * A producer that lives on (a Prometheus agent's Remote Write, a long-running task) and stops pushing some of its
 * series (pods come and go) lets them go, or its baselines would hold their input series for as long as it pushes
 * anything: memory and checkpoints growing without bound. A counter (or native histogram) baseline goes once its input
 * was fed by no one for `counterTtlMs + producerTtlMs`: the series' own totals ended `producerTtlMs` before, as long as
 * a silent producer's baselines are kept after its last push. Pushed again before that, the series adds only what it
 * added; after, it starts from its value, like a producer forgotten after silence (a rule's total it fed, still fed
 * by other series, then takes that value in full). A gauge contribution goes once not fed for `seriesTtlMs`: it has
 * left its outputs by then (collectOutputs). The input series then expires like any other nothing holds. Decided by
 * times the state keeps, in every collect: a restored aggregate lets go of what the one that wrote its state did.
 */
function releaseSilentSeries(store: AggregateStore, producer: ProducerState, opts: ResolvedOptions, now: number): void {
  const keep = opts.counterTtlMs + opts.producerTtlMs;
  for (const pscope of producer.scopes.values()) {
    // Producer-label values the producer stopped pushing under (a pod's `instance`, gone): forgotten like a producer,
    // once its series would have been (pushed under them again before that, they add only what they added).
    if (now - pscope.lastSeen >= keep) {
      forgetScope(store, pscope);
      continue;
    }
    if (releaseBaselines(pscope, pscope.counters, now - keep)) pscope.counters.tidy();
    if (pscope.natives !== null) releaseBaselines(pscope, pscope.natives, now - keep);
    if (pscope.gauges !== null) {
      for (const c of pscope.gauges.values()) {
        if (now - c.lastFed < opts.seriesTtlMs) continue;
        dropContribution(pscope, c);
        if (!pscope.counters.has(c.input)) pscope.stamps?.delete(c.input);
      }
    }
    if (pscope.stamps !== null) releaseStamps(pscope, now - opts.seriesTtlMs);
    // Nothing left under these producer-label values (a pod's `instance` that is gone): the scope goes too.
    if (pscope.counters.size === 0 && (pscope.gauges?.size ?? 0) === 0 && (pscope.natives?.size ?? 0) === 0) dropScope(store, pscope);
  }
}

/** The baselines (counter or native) of inputs nobody fed since `before`: they let their inputs go. Answers whether any did. */
function releaseBaselines(pscope: ProducerScope, baselines: BaselineTable, before: number): boolean {
  let released = false;
  baselines.forEach((_, input) => {
    if (input.lastFed > before) return;
    baselines.delete(input);
    pscope.stamps?.delete(input);
    input.holders--;
    released = true;
  });
  return released;
}

/** Counter baselines (input-numbers.ts) or native histogram ones (a Map): both may lose the entry a walk is at. */
interface BaselineTable {
  forEach(fn: (v: unknown, input: InputSeries) => void): void;
  delete(input: InputSeries): boolean;
}

/**
 * Sample times of inputs the scope no longer holds (a value a staleness marker or a replace ended, an input retyped)
 * that nobody fed since `before`: kept until then against a retried request, they go with their input.
 */
function releaseStamps(pscope: ProducerScope, before: number): void {
  const stamps = pscope.stamps!;
  let released = false;
  stamps.forEach((_, input) => {
    if (input.lastFed > before || pscope.counters.has(input) || pscope.gauges?.has(input) === true || pscope.natives?.has(input) === true) return;
    stamps.delete(input);
    released = true;
  });
  if (released) stamps.tidy();
}

function forgetProducer(store: AggregateStore, producer: ProducerState): void {
  for (const pscope of producer.scopes.values()) forgetScope(store, pscope);
  store.producers.delete(producer.id);
}

/** A producer scope's gauges drop out and its baselines let their inputs go; the scope goes. */
function forgetScope(store: AggregateStore, pscope: ProducerScope): void {
  if (pscope.gauges !== null) {
    for (const c of pscope.gauges.values()) {
      leaveGauges(c, store.generation);
      c.input.holders--;
    }
    pscope.gauges = null;
  }
  pscope.counters.forEach((_, input) => {
    input.holders--;
  });
  if (pscope.natives !== null) for (const input of pscope.natives.keys()) input.holders--;
  dropScope(store, pscope);
}

/** `pscope` leaves its producer, and the groups with gauges (AggregateStore.gaugeScopes). */
function dropScope(store: AggregateStore, pscope: ProducerScope): void {
  pscope.producer.scopes.delete(pscope.key);
  const key = replaceKey(pscope.producer.id, pscope.key);
  const scopes = store.gaugeScopes.get(key);
  if (scopes === undefined || !scopes.delete(pscope)) return;
  if (scopes.size === 0) store.gaugeScopes.delete(key);
}

/** True for the grouping of a whole-job delete: `DELETE /metrics/job/<job>` with no grouping labels. */
export function isWholeJob(grouping: Readonly<Record<string, string>>): boolean {
  for (const _ in grouping) return false;
  return true;
}

/**
 * A whole-job delete: every default output series labelled with the job ends (one stale sample at the next collect),
 * counters included, and every producer's gauge contributions to the job's input series leave (rule outputs over
 * gauges drop them). Rule outputs are not ended: they may combine several jobs. Counter baselines stay, so a producer
 * that goes on pushing counts only what it adds after the end, in the new default series and in rule totals alike.
 * `offset`: the source offset of the delete's record, which names the ends (see OutputSample.final).
 */
export function endJob(store: AggregateStore, job: string, offset?: number): void {
  for (const s of store.outputs.values()) {
    if (s.rule || s.labels['job'] !== job) continue;
    store.dropOutput(s);
    if (s.lastFed === NEVER_FED) continue;
    store.ended.push(s);
    if (offset !== undefined) store.endedBy.set(s, offset);
  }
  const prefix = job + '\u0000';
  const inputs = new Set<InputSeries>();
  for (const scope of store.scopes.values()) {
    if (scope.key !== job && !scope.key.startsWith(prefix)) continue;
    for (const input of scope.values()) inputs.add(input);
  }
  if (inputs.size === 0) return;
  for (const p of store.producers.values()) {
    for (const pscope of p.scopes.values()) {
      if (pscope.gauges === null) continue;
      for (const c of pscope.gauges.values()) {
        if (!inputs.has(c.input)) continue;
        leaveGauges(c, store.generation);
        dropContribution(pscope, c);
      }
    }
  }
}
