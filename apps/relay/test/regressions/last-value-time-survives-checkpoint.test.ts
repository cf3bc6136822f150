// A `last` output's value carries the time it was applied (`at`): an owner combining several source partitions keeps
// the newest. When the producer that last set the value leaves (op delete, or its contribution expires), the value
// falls back to an older producer's and `at` to that producer's feed time. A checkpoint must keep that time: a restore
// that guesses it from the output's last feed makes the restored partition's older value look newest, and the owner
// then writes a different gauge than it would have without the restart.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { OutputSample } from '../../src/model.js';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { batch, gauge, options } from '../aggregate/fixtures.js';

const T0 = 1_764_000_000_000;
const OPTS = options({ rules: [{ match: 'temp', without: ['instance'], outputs: ['last'] }] });
const NAME = 'temp:without_instance_last';
const viaJson = <T>(x: T) => JSON.parse(JSON.stringify(x)) as T;
const lastOf = (samples: OutputSample[]) => samples.find((s) => s.labels['__name__'] === NAME)!;

/** Partition A: instance a sets 1 at +100, instance b sets 2 at +200 and then deletes its group: the value is 1 again, set at +100. */
function partitionA(): PartitionAggregate {
  const agg = new PartitionAggregate(OPTS);
  agg.apply(batch({ producer: 'pa', seq: 0, grouping: { instance: 'a' }, points: [gauge('temp', 1)] }), T0 + 100);
  agg.apply(batch({ producer: 'pb', seq: 0, grouping: { instance: 'b' }, points: [gauge('temp', 2)] }), T0 + 200);
  agg.apply(batch({ producer: 'pb', seq: 1, grouping: { instance: 'b' }, op: 'delete' }), T0 + 300);
  return agg;
}

describe('a last value keeps the time it was applied through a checkpoint', () => {
  it('the restored partition says the same value and time', () => {
    const before = lastOf(partitionA().collect(T0 + 400));
    expect(before).toMatchObject({ value: 1, at: T0 + 100 });
    const restored = PartitionAggregate.fromState(viaJson(partitionA().toState()), OPTS);
    expect(lastOf(restored.collect(T0 + 400))).toMatchObject({ value: 1, at: T0 + 100 });
  });

  it('the owner of the series writes the same gauge whether partition A restarted or not', () => {
    // Partition B: instance c sets 3 at +150, newer than A's value (+100).
    const b = new PartitionAggregate(OPTS);
    b.apply(batch({ producer: 'pc', seq: 0, grouping: { instance: 'c' }, points: [gauge('temp', 3)] }), T0 + 150);
    const fromB = lastOf(b.collect(T0 + 400));
    const ownerSays = (fromA: OutputSample) => {
      const owner = new SeriesCombiner({ ttlMs: 60_000 });
      owner.apply({ kind: 'partials', source: 'in/0', offset: 1, series: [{ key: fromA.key!, combine: 'last', value: fromA.value, at: fromA.at!, stale: false }] }, T0 + 400);
      owner.apply({ kind: 'partials', source: 'in/1', offset: 1, series: [{ key: fromB.key!, combine: 'last', value: fromB.value, at: fromB.at!, stale: false }] }, T0 + 400);
      return owner.collect(T0 + 401).find((s) => s.labels['__name__'] === NAME)!.value;
    };
    expect(ownerSays(lastOf(partitionA().collect(T0 + 400)))).toBe(3);
    const restoredA = PartitionAggregate.fromState(viaJson(partitionA().toState()), OPTS);
    expect(ownerSays(lastOf(restoredA.collect(T0 + 400)))).toBe(3);
  });
});
