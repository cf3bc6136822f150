// A source publishes a total's new value, then (its next publish) the series' end by a whole-job DELETE, and both reach
// the owner before it collects (the owner's flush runs on its own clock; an owner catching up on the partials topic
// applies many publishes before its first collect). The end's final total equals the value just said, so the owner took
// it as nothing new and wrote the staleness marker straight away: the value was never written, and Prometheus's last
// sample of the series was an older total (increase() lost what the job counted last). With a restart in the second
// publish (the job's next run), the ended run's last value was lost the same way. The owner now knows whether a series'
// value has been written since it last changed, and writes it before the marker (or before the new run). Found by review.
import { describe, expect, it } from 'vitest';
import { counter } from '../aggregate/fixtures.js';
import { nativePoint } from '../aggregate/state-scenario.js';
import { T0, find, pipeline } from '../lib/partials-pipeline.js';
import { show, writes } from '../lib/owner-writes.js';

describe("a value and its end arriving between two owner collects: the value is written before the end", () => {
  it('a counter: the last value said, then the staleness marker', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    expect(first?.value).toBe(11);
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    const value = await p.flush(T0 + 20_000); // no owner collect between the two publishes
    p.deleteJob(T0 + 22_000);
    const end = await p.flush(T0 + 30_000);
    const seq = writes(p, [...value, ...end], 'rows_total', T0 + 30_000);
    expect(seq.map(show)).toEqual([16, 'stale', undefined]);
    expect(seq[0]!.start).toBe(first!.start);
  });

  it('a native histogram: the last histogram said, then the staleness marker', async () => {
    const p = pipeline();
    p.push([nativePoint('rpc_seconds', 9, false, 2)], 'run1', T0);
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rpc_seconds')?.histogram?.count).toBe(9);
    p.push([nativePoint('rpc_seconds', 12, false, 2)], 'run1', T0 + 12_000);
    const value = await p.flush(T0 + 20_000);
    p.deleteJob(T0 + 22_000);
    const seq = writes(p, [...value, ...await p.flush(T0 + 30_000)], 'rpc_seconds', T0 + 30_000);
    expect(seq.map(show)).toEqual([12, 'stale', undefined]);
    expect(seq[0]!.histogram?.sum).toBe(18);
  });

  it("the job restarted in the second publish: the ended run's last value, then the new run from zero", async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    const first = find(p.owner.collect(T0 + 10_000), 'rows_total');
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    const value = await p.flush(T0 + 20_000);
    p.deleteJob(T0 + 22_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 23_000);
    const seq = writes(p, [...value, ...await p.flush(T0 + 30_000)], 'rows_total', T0 + 30_000);
    // increase() over 11, 16, 4, 4: 5, then a counter reset, 4.
    expect(seq.map(show)).toEqual([16, 4, 4]);
    expect(seq[0]!.start).toBe(first!.start);
    expect(seq[1]!.start).toBeGreaterThan(first!.start!);
  });

  it('a value written before its end changes nothing: the marker comes at once', async () => {
    const p = pipeline();
    p.push([counter('rows_total', 11)], 'run1', T0);
    await p.flush(T0 + 10_000);
    p.push([counter('rows_total', 16)], 'run1', T0 + 12_000);
    await p.flush(T0 + 20_000);
    expect(find(p.owner.collect(T0 + 20_000), 'rows_total')?.value).toBe(16);
    p.deleteJob(T0 + 22_000);
    expect(writes(p, await p.flush(T0 + 30_000), 'rows_total', T0 + 30_000).map(show)).toEqual(['stale', undefined, undefined]);
  });
});
