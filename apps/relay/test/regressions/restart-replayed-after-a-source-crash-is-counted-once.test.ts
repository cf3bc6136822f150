// A job restarted within one flush (a whole-job DELETE and the next run's push) in a series fed through two
// partitions: the source publishes the restart, and its relay crashes before the source's checkpoint. Restored from the
// checkpoint before the DELETE, the source applies the DELETE and the new run again and says the restart again, at a
// later offset. A restart was named by the offset at which its end was first published, so the replayed one had another
// name: the owner applied it a second time and, beside the other partition's live run, counted the new run's first
// total twice (10 + 1 + 4 + 2, then + 4 again). A restart is now named by the offset of the DELETE's record, the same
// on replay. Found by review (the report of efd0ae9).
import { describe, expect, it } from 'vitest';
import { counter } from '../aggregate/fixtures.js';
import { T0, find, pipeline } from '../lib/partials-pipeline.js';

describe('a restart said again after its source crashed is counted once', () => {
  it('a counter fed through two partitions: the replayed restart is its plain value', async () => {
    const p = pipeline(['in/0', 'in/1']);
    p.push([counter('rows_total', 10)], 'run1', T0, 'in/0');
    p.push([counter('rows_total', 1)], 'run1-b', T0, 'in/1');
    await p.flush(T0 + 10_000);
    expect(find(p.owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    const checkpoint = p.checkpoint('in/0');

    // The job ends and its next run pushes in both partitions before the next flush.
    p.deleteJob(T0 + 12_000);
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000, 'in/0');
    p.push([counter('rows_total', 2)], 'run2-b', T0 + 13_000, 'in/1');
    await p.flush(T0 + 20_000);
    // Each restart came while the other partition was live: what the old runs counted stays (10 + 1), + 4 + 2.
    expect(find(p.owner.collect(T0 + 20_000), 'rows_total')?.value).toBe(17);

    // in/0's relay crashes before its checkpoint: restored, in/0 applies the DELETE and run2's push again, then run2
    // pushes 6, and the next flush says the restart again with run2's newer total.
    p.restore(checkpoint, 'in/0');
    p.deleteJob(T0 + 12_000, 'etl', 'in/0');
    p.push([counter('rows_total', 4)], 'run2', T0 + 13_000, 'in/0');
    p.push([counter('rows_total', 6)], 'run2', T0 + 23_000, 'in/0');
    await p.flush(T0 + 30_000);
    expect(find(p.owner.collect(T0 + 30_000), 'rows_total')?.value).toBe(10 + 1 + 6 + 2);
  });
});
