// A whole-job DELETE and the job's next run within one flush interval: the source partition's next publish said, for
// the same output series at the same offset, that the old run's series ended (a stale partial) and what the new run had
// counted. The owner took the end, then dropped the new value as "the same offset as the end", until the source said
// the series again at a later offset (its next full publish, up to 30 minutes); a run that was itself deleted before the
// next flush (jobs shorter than a flush, back to back) was never counted at all. Now the source sends the two as one
// restart, which the owner applies once: a repeated message, a republish after a failed publish and a restore from the
// owner's checkpoint change nothing. Found by review.
import { describe, expect, it } from 'vitest';
import { SeriesCombiner } from '../../src/repartition/index.js';
import type { OutputSample } from '../../src/model.js';
import { counter, gauge } from '../aggregate/fixtures.js';
import { nativePoint } from '../aggregate/state-scenario.js';
import { OWNER, T0, applyAll, find, pipeline, viaJson } from '../lib/partials-pipeline.js';

/**
 * What the owner writes for `name` at `at`; then the same messages applied again, and to the owner restored from its
 * checkpoint (taken after them), must write exactly that too (an end, once: the same owner then writes nothing).
 */
function settled(p: ReturnType<typeof pipeline>, messages: Buffer[], name: string, at: number): OutputSample | undefined {
  const state = viaJson(p.owner.toState());
  const first = find(p.owner.collect(at), name);
  applyAll(p.owner, messages, at);
  expect(find(p.owner.collect(at + 1), name), 'the same messages again').toEqual(first?.stale ? undefined : first && { ...first });
  const restored = SeriesCombiner.fromState(state, OWNER);
  applyAll(restored, messages, at);
  expect(find(restored.collect(at + 1), name), 'restored, then the same messages again').toEqual(first && { ...first });
  return first;
}

describe('a job restarted within one flush is counted', () => {
  it('a counter: the new run counts from zero in the ended series, at once, and runs back to back each count', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 10), gauge('queue_depth', 3)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    expect(first?.value).toBe(10);

    // The job ends and its next run pushes before the next flush.
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4), gauge('queue_depth', 7)], 'run2', T0 + 13_000);
    let messages = await p.flush(T0 + 20_000);
    const second = settled(p, messages, 'rows_total', T0 + 20_000);
    // As when the end and the new run reach the owner in two flushes: the series starts again (a counter reset).
    expect(second?.value).toBe(4);
    expect(second?.start).toBeGreaterThan(first!.start!);
    expect(settled(p, messages, 'queue_depth', T0 + 20_000)?.value).toBe(7);

    // Runs shorter than a flush, back to back: run2 ends and run3 pushes before the next flush.
    p.deleteJob(T0 + 22_000);
    p.push([counter('rows_total', 2)], 'run3', T0 + 23_000);
    messages = await p.flush(T0 + 30_000);
    expect(settled(p, messages, 'rows_total', T0 + 30_000)?.value).toBe(2);
    // run3 goes on: an ordinary value.
    p.push([counter('rows_total', 5)], 'run3', T0 + 33_000);
    messages = await p.flush(T0 + 40_000);
    expect(settled(p, messages, 'rows_total', T0 + 40_000)?.value).toBe(5);
  });

  it('a counter whose restarted run then expires at the same offset ends at the owner, and a later run starts anew', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 10)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(10);
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000);
    await p.flush(T0 + 20_000);
    expect(find(p.owner.collect(T0 + 20_000), 'rows_total')?.value).toBe(4);
    // Nothing more reaches the partition: run2's series ends by counter_ttl, at the offset of its restart.
    const messages = await p.flush(T0 + 140_000);
    expect(settled(p, messages, 'rows_total', T0 + 140_000)).toMatchObject({ stale: true });
    p.push([counter('rows_total', 6)], 'run3', T0 + 150_000);
    expect(settled(p, await p.flush(T0 + 160_000), 'rows_total', T0 + 160_000)?.value).toBe(6);
  });

  it('a native histogram: the new run counts from zero at once', async () => {
    const p = pipeline();
    p.push([nativePoint('rpc_seconds', 9, false, 2)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rpc_seconds')?.histogram?.count).toBe(9);
    p.deleteJob(T0 + 12_000);
    p.push([nativePoint('rpc_seconds', 4, false, 2)], 'run2', T0 + 13_000);
    const messages = await p.flush(T0 + 20_000);
    const h = settled(p, messages, 'rpc_seconds', T0 + 20_000)?.histogram;
    expect(h?.count).toBe(5); // nativePoint(4) holds 4 + 4 % 3 observations
    p.push([nativePoint('rpc_seconds', 7, false, 2)], 'run2', T0 + 23_000);
    expect(settled(p, await p.flush(T0 + 30_000), 'rpc_seconds', T0 + 30_000)?.histogram?.count).toBe(8);
  });

  it('a restart whose publish failed but reached the owner is said again and still counted once', async () => {
    // The series is fed through two partitions; in/0's publish of the restart is not acknowledged, in/1 ends after it.
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000, 'in/0');
    let messages = await p.flush(T0 + 20_000, 'in/0');
    // in/1 was still live when in/0's restart came: what both had counted stays, and the new run adds to it.
    expect(settled(p, messages, 'rows_total', T0 + 20_000)?.value).toBe(15);
    // The next flush says the restart again (the end of a failed publish is carried), with run2's newer total.
    p.push([counter('rows_total', 6)], 'run2', T0 + 23_000, 'in/0');
    messages = await p.flush(T0 + 30_000);
    expect(settled(p, messages, 'rows_total', T0 + 30_000)?.value).toBe(17);
  });

  it('a restart republished at the same offset (nothing new since the failed publish) is counted once', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 1)], 'run2-b', T0 + 12_500, 'in/1');
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000, 'in/0');
    const failed = await p.flush(T0 + 20_000, 'in/0');
    const again = await p.flush(T0 + 30_000);
    // Both partitions' series restarted (1 and 4), each while the other was live: 10 + 1 kept, + 1 + 4.
    expect(settled(p, [...failed, ...again], 'rows_total', T0 + 30_000)?.value).toBe(16);
  });
});
