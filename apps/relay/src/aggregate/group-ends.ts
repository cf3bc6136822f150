/**
 * What a push or a delete of one group (job + grouping labels) ends, as a Pushgateway replaces or deletes the metrics
 * of a group: a PUT (`op: push`, the default: the message is its sender's whole state in the group) replaces every
 * metric of the group, a POST (`op: add`) those of the metric names it carries, a DELETE (`op: delete`) removes the
 * group. Here that means gauge contributions end (they leave their outputs at once, not after `series_ttl`); counter
 * totals stay, as ever. They end for every run of the group (`<group>/run=…` producers, as the ingest tells a group's
 * process runs apart, and `<group>` itself): in the Pushgateway the last push of a group holds its values, whichever
 * run sent it. Remote Write and JSON lines carry samples, not a snapshot: they replace nothing (`IngestBatch.partial`),
 * and a gauge they set last is not replaced by a snapshot push (the emitter's `emit` beside its `push`).
 *
 * Linear: a push walks the contributions it keeps (no more than it carries) and those it ends (each created by an
 * earlier push); the groups' producer scopes with gauges are found by key (AggregateStore.gaugeScopes).
 */
import { leaveGauges } from './outputs.js';
import { contributionsOfFamily, dropContribution, replaceKey } from './series.js';
import type { AggregateStore, Contribution, InputSeries, ProducerScope, ProducerState } from './series.js';

/** `op: delete` of a group: the gauges of every run of it drop out; counter totals stay. */
export function endGroup(store: AggregateStore, producer: ProducerState, pscopeKey: string): void {
  for (const pscope of groupScopes(store, producer, pscopeKey)) {
    for (const c of pscope.gauges!.values()) end(store, pscope, c);
  }
}

/**
 * A push of `producer` replaced its group's gauges (`pscopeKey`: the group's producer scope key): the producer's
 * contributions the push no longer carries — neither fed by it (a tick after `tickBefore`) nor named in it without a
 * value applied (`seen`) — and every contribution of the group's other runs; with `families` (a POST) only those of
 * the metric families it carries.
 */
export function endReplaced(store: AggregateStore, producer: ProducerState, pscopeKey: string, seen: ReadonlySet<InputSeries>, families: ReadonlySet<string> | null, tickBefore: number): void {
  for (const other of groupScopes(store, producer, pscopeKey)) {
    const own = other.producer === producer;
    // Each gauge value the push fed took a tick (one per series: a push holds no series twice): as many as the
    // producer's contributions, and every one was fed.
    if (own && other.gauges!.size <= store.tick - tickBefore) continue;
    const ends = (c: Contribution) => c.snapshot && (!own || (c.tick <= tickBefore && !seen.has(c.input)));
    if (families === null) {
      for (const c of other.gauges!.values()) if (ends(c)) end(store, other, c);
      continue;
    }
    for (const family of families) {
      const of = contributionsOfFamily(other, family);
      if (of !== undefined) for (const c of of) if (ends(c)) end(store, other, c);
    }
  }
}

/** A staleness marker: the producer's contribution to `input` leaves its gauge outputs now (ending those it was the last of). */
export function endContribution(store: AggregateStore, pscope: ProducerScope, input: InputSeries): void {
  const c = pscope.gauges?.get(input);
  if (c !== undefined) end(store, pscope, c);
}

function end(store: AggregateStore, pscope: ProducerScope, c: Contribution): void {
  leaveGauges(c, store.generation);
  dropContribution(pscope, c);
}

/** The producer scopes of the group (every run's) that hold gauge contributions; those found with none leave the index. */
function groupScopes(store: AggregateStore, producer: ProducerState, pscopeKey: string): ProducerScope[] {
  const key = replaceKey(producer.id, pscopeKey);
  const scopes = store.gaugeScopes.get(key);
  if (scopes === undefined) return [];
  const out: ProducerScope[] = [];
  for (const pscope of scopes) {
    if (pscope.gauges !== null && pscope.gauges.size > 0 && pscope.producer.scopes.get(pscope.key) === pscope) out.push(pscope);
    else scopes.delete(pscope);
  }
  if (scopes.size === 0) store.gaugeScopes.delete(key);
  return out;
}
