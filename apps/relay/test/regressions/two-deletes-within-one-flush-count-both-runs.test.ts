// Two whole-job DELETEs of one job within one flush interval, with a short run between them (run 2 pushed and deleted
// before the source published anything about it): the source's next publish said two ends of the series, each with its
// run's final total. The owner took the first (run 1's total) and retired the source's entry; the second found the entry
// retired and changed nothing, so run 2's increments were never in the output: Prometheus's last sample before the
// staleness marker was run 1's total, and increase() lost run 2. Each end now carries its own name (the source offset of
// the DELETE that ended it): an end named after the one the entry ended with is a run the owner never heard of, and its
// final total is added. Found by review.
import { describe, expect, it } from 'vitest';
import { counter } from '../aggregate/fixtures.js';
import { nativePoint } from '../aggregate/state-scenario.js';
import { T0, find, pipeline } from '../lib/partials-pipeline.js';
import { show, writes } from '../lib/owner-writes.js';

describe('two whole-job deletes within one flush count both runs', () => {
  it("a counter: the series' final total holds run 2's increments, then the staleness marker", async () => {
    const p = pipeline();
    p.push([counter('rows_total', 10)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    expect(first?.value).toBe(10);
    p.push([counter('rows_total', 16)], 'run1', T0 + 11_000);
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000);
    p.deleteJob(T0 + 14_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000);
    // increase() over 10, 20: the 6 run 1 added and the 4 of run 2.
    expect(seq.map(show)).toEqual([16 + 4, 'stale', undefined]);
    expect(seq[0]!.start).toBe(first!.start);
  });

  it('both runs never said before (each pushed and deleted between two publishes): their sum, then the marker', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 7)], 'run1', T0);
    p.deleteJob(T0 + 1_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 2_000);
    p.deleteJob(T0 + 3_000);
    expect(writes(p, await p.flush(T0 + 10_000), 'rows_total', T0 + 10_000).map(show)).toEqual([11, 'stale', undefined]);
  });

  it("three runs: the old series' final total holds runs 1 and 2, then run 3 counts from zero", async () => {
    const p = pipeline();
    p.push([counter('rows_total', 10)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(10);
    p.push([counter('rows_total', 16)], 'run1', T0 + 11_000);
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000);
    p.deleteJob(T0 + 14_000);
    p.push([counter('rows_total', 2)], 'run3', T0 + 15_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000);
    // A counter reset Prometheus counts: increase() over 10, 20, 2, 2 is 10 + 2.
    expect(seq.map(show)).toEqual([20, 2, 2]);
    expect(seq[1]!.start).toBeGreaterThan(seq[0]!.start!);
  });

  it('a native histogram: the final histogram holds both runs', async () => {
    const p = pipeline();
    p.push([nativePoint('rpc_seconds', 9, false, 2)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rpc_seconds')?.histogram?.count).toBe(9);
    p.push([nativePoint('rpc_seconds', 12, false, 2)], 'run1', T0 + 11_000);
    p.deleteJob(T0 + 12_000);
    p.push([nativePoint('rpc_seconds', 4, false, 2)], 'run2', T0 + 13_000); // 4 + 4 % 3 = 5 observations, sum 6
    p.deleteJob(T0 + 14_000);
    const seq = writes(p, await p.flush(T0 + 20_000), 'rpc_seconds', T0 + 20_000);
    expect(seq.map(show)).toEqual([12 + 5, 'stale', undefined]);
    expect(seq[0]!.histogram?.sum).toBe(18 + 6);
  });

  it('fed through two partitions, beside a source that goes on: both runs stay in the total', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    // in/0 applies both DELETEs within this flush; in/1 (consumed behind it) only in the next one.
    p.push([counter('rows_total', 16)], 'run1', T0 + 11_000, 'in/0');
    p.deleteJob(T0 + 12_000, 'etl', 'in/0');
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000, 'in/0');
    p.deleteJob(T0 + 14_000, 'etl', 'in/0');
    p.push([counter('rows_total', 5)], 'run1-b', T0 + 15_000, 'in/1');
    expect(writes(p, await p.flush(T0 + 20_000), 'rows_total', T0 + 20_000, 1).map(show)).toEqual([16 + 4 + 5]);
    p.deleteJob(T0 + 21_000, 'etl', 'in/1');
    p.deleteJob(T0 + 22_000, 'etl', 'in/1');
    expect(writes(p, await p.flush(T0 + 40_000), 'rows_total', T0 + 40_000).map(show)).toEqual(['stale', undefined, undefined]);
  });
});
