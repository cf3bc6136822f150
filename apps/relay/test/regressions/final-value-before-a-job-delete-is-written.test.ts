// A whole-job DELETE ends the job's default series: the source published a stale partial, which carried no value, so
// whatever the job pushed between the source's last publish and the DELETE never reached the output. With 11 published,
// then 16 pushed and the job deleted within one flush interval, the owner went from 11 straight to the staleness marker:
// Prometheus's last sample of the series was 11, and increase() lost the last 5 (rule totals kept them; only the job's
// default series lost them). Now the end carries the series' final total, the owner writes it at its next flush and the
// staleness marker at the one after; beside other sources the final total stays in what they go on adding to, and a
// job restarted within the flush writes the old run's final total before the new run's (a counter reset). Repeated
// messages, a republish after a failed publish and a restore from the owner's checkpoint write the same. Found by review.
import { describe, expect, it } from 'vitest';
import { counter } from '../aggregate/fixtures.js';
import { nativePoint } from '../aggregate/state-scenario.js';
import { T0, find, pipeline } from '../lib/partials-pipeline.js';
import { show, writes } from '../lib/owner-writes.js';

describe('the final total before a whole-job delete is written', () => {
  it('a counter: the total pushed after the last publish is written, then the staleness marker', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    expect(first?.value).toBe(11);
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    p.deleteJob(T0 + 13_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000);
    expect(seq.map(show)).toEqual([16, 'stale', undefined]);
    expect(seq[0]!.start).toBe(first!.start);
  });

  it('a native histogram: the final histogram is written, then the staleness marker', async () => {
    const p = pipeline();
    p.push([nativePoint('rpc_seconds', 9, false, 2)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rpc_seconds')?.histogram?.count).toBe(9);
    p.push([nativePoint('rpc_seconds', 12, false, 2)], 'run1', T0 + 12_000);
    p.deleteJob(T0 + 13_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rpc_seconds', T0 + 20_000);
    expect(seq.map(show)).toEqual([12, 'stale', undefined]);
    expect(seq[0]!.histogram?.sum).toBe(18); // nativePoint(12): sum 12 * 1.5
  });

  it('an end already said is not written again (the final total is what the owner had)', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    p.deleteJob(T0 + 13_000);
    expect(writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000).map(show)).toEqual(['stale', undefined, undefined]);
  });

  it("a job restarted within the flush: the old run's final total, then the new run from zero", async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    p.deleteJob(T0 + 13_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 14_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000);
    // A counter reset Prometheus counts: increase() over the three is 5 + 4.
    expect(seq.map(show)).toEqual([16, 4, 4]);
    expect(seq[0]!.start).toBe(first!.start);
    expect(seq[1]!.start).toBeGreaterThan(first!.start!);
  });

  it('a run pushed and deleted between two publishes (never said before) is written, then ends', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 7)], 'run1', T0);
    p.deleteJob(T0 + 1_000);
    const messages = await p.flush(T0 + 10_000);
    expect(writes(p, messages, 'rows_total', T0 + 10_000).map(show)).toEqual([7, 'stale', undefined]);
    // A native histogram, in a pipeline of its own (writes() has collected this one's owner three times).
    const q = pipeline();
    q.push([nativePoint('rpc_seconds', 3, false, 2)], 'run1', T0);
    q.deleteJob(T0 + 1_000);
    expect(writes(q, await q.flush(T0 + 10_000), 'rpc_seconds', T0 + 10_000).map(show)).toEqual([3, 'stale', undefined]);
  });

  it('runs back to back within one flush, never said before: the deleted run, then the next', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 7)], 'run1', T0);
    p.deleteJob(T0 + 1_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 2_000);
    const seq = writes(p, await p.flush(T0 + 10_000), 'rows_total', T0 + 10_000);
    expect(seq.map(show)).toEqual([7, 4, 4]);
    expect(seq[1]!.start).toBeGreaterThan(seq[0]!.start!);
  });

  it('fed through two partitions: a run never said before in one of them counts as it ends', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(10);
    p.push([counter('rows_total', 12)], 'run1', T0 + 11_000, 'in/0');
    p.push([counter('rows_total', 3)], 'run1-b', T0 + 11_000, 'in/1');
    p.deleteJob(T0 + 12_000);
    expect(writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000).map(show)).toEqual([15, 'stale', undefined]);
  });

  it('fed through two partitions: an end beside a live source counts its final total', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    // in/0's run counts on to 16 and restarts (run2); in/1's counts on to 5 and ends.
    p.push([counter('rows_total', 16)], 'run1', T0 + 11_000, 'in/0');
    p.push([counter('rows_total', 5)], 'run1-b', T0 + 11_000, 'in/1');
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 2)], 'run2', T0 + 13_000, 'in/0');
    // in/0's restart comes while in/1 is live: what both counted stays (16 + 5), and run2 adds to it.
    expect(writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000).map(show)).toEqual([23, 23, 23]);
  });

  it('fed through two partitions: a restart after every other source ended writes the old total first', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    // in/0's run counts on to 16 and ends; in/1's run restarts (run2-b), after in/0's end reached the owner.
    p.push([counter('rows_total', 16)], 'run1', T0 + 11_000, 'in/0');
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 2)], 'run2-b', T0 + 13_000, 'in/1');
    expect(writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000).map(show)).toEqual([17, 2, 2]);
  });

  it('an end whose publish failed but reached the owner, said again, is written once', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    p.deleteJob(T0 + 13_000);
    await p.flush(T0 + 20_000, 'in/0');
    expect(show(find(p.owner.collect(T0 + 20_000), 'rows_total'))).toBe(16);
    // The next flush says the end again (carried, with its final total).
    expect(writes(p, await p.flush(T0 + 30_000), 'rows_total', T0 + 30_000).map(show)).toEqual(['stale', undefined, undefined]);
  });
});
