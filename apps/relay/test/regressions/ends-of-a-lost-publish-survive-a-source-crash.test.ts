// A whole-job DELETE's end is published once, by the source's next flush; when that publish fails (nothing reached the
// owner), the source says it again at the flush after. But the flusher checkpoints a source with the state of its
// collect, whatever becomes of the publish, and the end is gone from that state: a relay that crashed before its next
// flush lost the end, and with it the final total (what the job pushed after the last publish). The owner kept the
// series at its older total until its own TTL (27 h). A source checkpoint now keeps the ends of its collect (those with
// a final total), and a source restored from it says them again; an owner applies a named end once. Found by the
// randomized test deletes-exact-randomized (seed 49).
import { describe, expect, it } from 'vitest';
import type { ProducedMessage } from '../../src/kafka/index.js';
import type { IngestBatch } from '../../src/model.js';
import { PartialsPublisher, SeriesCombiner, SourceState, decodePartials } from '../../src/repartition/index.js';
import { batch, counter } from '../aggregate/fixtures.js';
import { OPTS, OWNER, T0, find, viaJson } from '../lib/partials-pipeline.js';
import { show } from '../lib/owner-writes.js';

describe('the ends of a lost publish survive a source crash', () => {
  it("the restored source says the end again: the final total, then the staleness marker", async () => {
    const owner = new SeriesCombiner(OWNER);
    let lost = false;
    const producer = {
      send: async (_topic: string, messages: ProducedMessage[]) => {
        if (lost) throw new Error('request timed out'); // nothing reached the owner
        for (const m of messages) owner.apply(decodePartials(m.value as Buffer), T0);
      },
    };
    const publisher = new PartialsPublisher(producer as never, 'partials', 1);
    const records: IngestBatch[] = [];
    let state = SourceState.create(OPTS, 3_600_000);
    const apply = (b: IngestBatch) => {
      b.position = { topic: 'in', partition: 0, offset: String(records.length) };
      records.push(b);
      state.apply(b, T0);
    };
    /** The flusher's order: collect, the checkpoint of that state, then the publish. */
    const flush = async (at: number) => {
      const samples = state.collect(at);
      const checkpoint = { state: viaJson(state.toState()), offset: records.length };
      await publisher.publish([{ source: 'in/0', offset: BigInt(records.length), samples }]).catch(() => state.publishAll());
      return checkpoint;
    };

    apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 11)] }));
    await flush(T0 + 10_000);
    expect(find(owner.collect(T0 + 10_000), 'rows_total')?.value).toBe(11);
    apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 16)] }));
    apply(batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }));
    lost = true;
    const checkpoint = await flush(T0 + 20_000);
    lost = false;
    expect(find(owner.collect(T0 + 20_000), 'rows_total')?.value).toBe(11);
    // The relay crashes before its next flush: restored from the checkpoint of the lost publish's collect.
    state = SourceState.fromState(checkpoint.state, OPTS, 3_600_000);
    for (let o = checkpoint.offset; o < records.length; o++) state.apply(records[o]!, T0 + 25_000);
    await flush(T0 + 30_000);
    const seq = [30_000, 40_000, 50_000].map((dt) => show(find(owner.collect(T0 + dt), 'rows_total')));
    expect(seq).toEqual([16, 'stale', undefined]);
  });
});
