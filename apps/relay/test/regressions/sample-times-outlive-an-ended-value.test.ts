// The newest sample time a Remote Write sender applied to a series is what refuses its retried older samples (a batch
// sent again after a 5xx). Two faults: (1) a checkpoint wrote the time only while the producer still held a value of
// the series, so after a staleness marker ended a gauge, a restored relay took the retried sample before the marker and
// brought the gauge back, where the relay that never restarted refused it; (2) the time of a series the producer no
// longer held (ended by a marker, retyped from untyped) was never let go: a Prometheus agent whose pods come and go
// kept one entry (and its retired input series) per series it ever sent (bench/diagnosis/stamps-cost.mts measured
// +806 B per series for retyped ones). Times are now written for every input a scope holds and let go with their input.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { InputPoint } from '../../src/model.js';
import { batch, byId, gauge, options, point } from '../aggregate/fixtures.js';

const opts = options({ seriesTtlMs: 10_000 });
const viaJson = <T>(x: T) => JSON.parse(JSON.stringify(x)) as T;
/** A Remote Write request of one sender: samples with their timestamps, no sequence number, replacing nothing. */
const rw = (points: InputPoint[]) => ({ ...batch({ producer: 'remote-write/job=job1&instance=a', grouping: { instance: 'a' }, points }), partial: true as const });
const at = (p: InputPoint, timestamp: number): InputPoint => ({ ...p, timestamp });
const marker = (name: string, timestamp: number): InputPoint => ({ ...point(name, 'gauge', NaN), staleMarker: true, timestamp });

describe('sample times of a series whose value ended', () => {
  it('a retried sample older than the staleness marker stays refused after a restore', () => {
    const original = new PartitionAggregate(opts);
    original.apply(rw([at(gauge('queue', 5), 1_000), at(gauge('up', 1), 1_000)]), 1_000);
    original.apply(rw([marker('queue', 2_000), at(gauge('up', 1), 2_000)]), 2_000);
    expect(byId(original.collect(2_000))).toEqual({ 'queue{job="job1"}': 'stale', 'up{job="job1"}': 1 });
    const restored = PartitionAggregate.fromState(viaJson(original.toState()), opts);
    for (const agg of [original, restored]) {
      const retried = agg.apply(rw([at(gauge('queue', 5), 1_000), at(gauge('up', 1), 1_000)]), 2_500);
      expect(retried.duplicates).toBe(2);
      expect(byId(agg.collect(3_000))).toEqual({ 'up{job="job1"}': 1 });
    }
  });

  it('is let go once nobody fed its series for series_ttl, while the sender goes on', () => {
    const agg = new PartitionAggregate(opts);
    // a series first seen untyped (Remote Write 1.0 before its metadata), then typed: its first input series retires
    agg.apply(rw([at(point('jobs', 'untyped', 1), 1_000), at(gauge('up', 1), 1_000)]), 1_000);
    agg.apply(rw([at(gauge('jobs', 2), 2_000), at(gauge('up', 1), 2_000)]), 2_000);
    agg.apply(rw([marker('jobs', 3_000), at(gauge('up', 1), 3_000)]), 3_000);
    // Internals: the producer scope's sample times (the leak is memory, which no output shows).
    const stamps = () => {
      const store = (agg as unknown as { store: { producers: Map<string, { scopes: Map<string, { stamps: Map<unknown, number> | null }> }> } }).store;
      return [...store.producers.values()].flatMap((p) => [...p.scopes.values()]).reduce((n, s) => n + (s.stamps?.size ?? 0), 0);
    };
    expect(stamps()).toBe(3); // up, jobs (typed), and the retired untyped jobs
    for (let t = 4_000; t <= 30_000; t += 1_000) {
      agg.apply(rw([at(gauge('up', 1), t)]), t);
      agg.collect(t);
    }
    expect(stamps()).toBe(1);
  });
});
