// Guards the aggregate's positional lookup (Scope.at: a push's i-th series is first compared with the i-th series of
// the last push to its scope, before any hashing). An input series that left its scope (expired after its producers,
// or retired when an untyped series arrives typed) must never be found that way again: a push would feed an input
// the checkpoint no longer holds, and after a restore its producer's baseline would be gone (the next value counted
// in full, the total too high) or the checkpoint would refuse to be written.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, byId, counter, gauge, options, point } from '../aggregate/fixtures.js';

const MIN = 60_000;
const restored = (agg: PartitionAggregate) => PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), OPTS);
const OPTS = options({ seriesTtlMs: 5 * MIN, producerTtlMs: 10 * MIN, counterTtlMs: 600 * MIN });

describe('positional lookup of input series', () => {
  it('an input expired after its producer is not found again at its old position: totals stay exact through a restore', () => {
    const agg = new PartitionAggregate(OPTS);
    const keep = (seq: number, at: number) => agg.apply(batch({ producer: 'keeper', seq, points: [counter('up_total', seq + 1)] }), at);
    // run-1 pushes a and b (positions 0 and 1); a second producer of the job keeps the scope alive with one series
    // (position 0), so the scope outlives run-1's series and remembers b at position 1.
    agg.apply(batch({ producer: 'run-1', seq: 0, points: [counter('rows_total', 10, { t: 'a' }), counter('rows_total', 1, { t: 'b' })] }), 0);
    agg.apply(batch({ producer: 'run-1', seq: 1, points: [counter('rows_total', 20, { t: 'a' }), counter('rows_total', 2, { t: 'b' })] }), MIN);
    keep(0, 2 * MIN);
    keep(1, 11 * MIN);
    // run-1 expires (10 min), then its input series (5 min after their last feed, none holding them): totals stay.
    expect(byId(agg.collect(12 * MIN))).toMatchObject({ 'rows_total{job="job1",t="a"}': 20, 'rows_total{job="job1",t="b"}': 2 });
    keep(2, 13 * MIN);
    expect(byId(agg.collect(13 * MIN))).toMatchObject({ 'rows_total{job="job1",t="a"}': 20, 'rows_total{job="job1",t="b"}': 2 });
    // A new run pushes the keeper's series at position 0 (found by position) and b at position 1 again: a new input
    // series for b, the new producer counted from zero.
    agg.apply(batch({ producer: 'run-2', seq: 0, points: [counter('up_total', 1), counter('rows_total', 3, { t: 'b' })] }), 14 * MIN);
    const again = restored(agg);
    for (const a of [agg, again]) a.apply(batch({ producer: 'run-2', seq: 1, points: [counter('up_total', 1), counter('rows_total', 4, { t: 'b' })] }), 15 * MIN);
    for (const a of [agg, again]) expect(byId(a.collect(16 * MIN))).toMatchObject({ 'rows_total{job="job1",t="a"}': 20, 'rows_total{job="job1",t="b"}': 6 });
  });

  it('an untyped input retired when the series arrives typed is not found again by position', () => {
    const agg = new PartitionAggregate(OPTS);
    // A Remote Write 1.0 sender's first samples come before its metadata: read as untyped (a gauge).
    agg.apply(batch({ producer: 'p', seq: 0, points: [point('jobs_total', 'untyped', 4), gauge('queue', 1)] }), 0);
    // Then typed: the untyped input leaves and a counter input takes the name; its first value counts in full.
    agg.apply(batch({ producer: 'p', seq: 1, points: [counter('jobs_total', 6), gauge('queue', 2)] }), 1000);
    agg.apply(batch({ producer: 'p', seq: 2, points: [counter('jobs_total', 9), gauge('queue', 3)] }), 2000);
    const again = restored(agg);
    for (const a of [agg, again]) a.apply(batch({ producer: 'p', seq: 3, points: [counter('jobs_total', 10), gauge('queue', 4)] }), 3000);
    for (const a of [agg, again]) expect(byId(a.collect(4000))).toMatchObject({ 'jobs_total{job="job1"}': 10, 'queue{job="job1"}': 4 });
  });
});
