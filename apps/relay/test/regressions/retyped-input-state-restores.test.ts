// An untyped input series (a Remote Write 1.0 sender's samples before its metadata, a text body without TYPE) that
// arrives typed starts again (aggregate/retype.ts): its gauge contributions leave the outputs they feed. A producer's
// contribution that had already expired out of those outputs (collect drops it from the output, not from the
// producer) was left behind, pointing at the retired input, which no longer is in the state: the checkpoint wrote it
// with input index -1 (or the index another input has now) and the next restore refused the whole state as corrupt,
// so the partition could not be taken over. Found by review (a randomized restore-anywhere comparison).
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, options, point } from '../aggregate/fixtures.js';

const T0 = 1_764_000_000_000;
const OPTS = options({ seriesTtlMs: 10_000 });
const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
const u = (producer: string, instance: string, v: number, type: 'untyped' | 'counter' = 'untyped') =>
  batch({ producer, job: 'j', grouping: { instance }, points: [point('u', type, v)] });

/** p1 and p2 push `u` untyped; p1's value expires out of the output while p2's lives on; p2 then pushes it as a counter. */
function retyped(checkpointBefore: boolean): PartitionAggregate {
  const agg = new PartitionAggregate(OPTS);
  agg.apply(u('p1', 'a', 1), T0);
  agg.apply(u('p2', 'b', 2), T0);
  agg.apply(u('p2', 'b', 3), T0 + 6_000);
  agg.collect(T0 + 11_000); // p1's contribution expires out of u{job="j"}; p2's keeps it
  if (checkpointBefore) agg.toState(); // a checkpoint numbers the input (index 0)
  agg.apply(u('p2', 'b', 5, 'counter'), T0 + 11_500);
  agg.apply(batch({ producer: 'p3', job: 'j', grouping: { instance: 'c' }, points: [point('w', 'gauge', 7)] }), T0 + 11_600);
  return agg;
}

describe('a state written after an untyped input arrived typed restores', () => {
  for (const checkpointBefore of [false, true]) {
    it(`to the same future${checkpointBefore ? ' (the input had a state index from an earlier checkpoint)' : ''}`, () => {
      const original = retyped(checkpointBefore);
      original.collect(T0 + 12_000);
      const written = original.toState();
      // What is left of p1's value (it feeds nothing and never will) is not written; p3's contribution to w is.
      expect(written.contribs.input).toHaveLength(1);
      const state = viaJson(written);
      const restored = PartitionAggregate.fromState(state, OPTS);
      // The future: p1 and p3 push again, time passes beyond the TTLs, p1 is forgotten.
      const steps: Array<[ReturnType<typeof u>, number]> = [
        [u('p1', 'a', 4, 'counter'), T0 + 13_000],
        [batch({ producer: 'p3', job: 'j', grouping: { instance: 'c' }, points: [point('w', 'gauge', 8)] }), T0 + 14_000],
      ];
      for (const [b, at] of steps) expect(restored.apply(structuredClone(b), at)).toEqual(original.apply(structuredClone(b), at));
      for (const at of [T0 + 15_000, T0 + 30_000, T0 + 700_000]) expect(viaJson(restored.collect(at))).toEqual(viaJson(original.collect(at)));
      expect(restored.seriesCount).toBe(original.seriesCount);
    });
  }

  it('the restored total of the retyped series is what both producers counted', () => {
    const original = retyped(false);
    original.collect(T0 + 12_000);
    const restored = PartitionAggregate.fromState(viaJson(original.toState()), OPTS);
    restored.apply(u('p1', 'a', 4, 'counter'), T0 + 13_000);
    const total = restored.collect(T0 + 13_500).find((s) => s.labels['__name__'] === 'u' && s.combine === 'total');
    expect(total?.value).toBe(9);
  });
});
