// A source checkpoint keeps the whole-job delete ends of its collect, and a source restored from it says them again
// (see ends-of-a-lost-publish-survive-a-source-crash). Said as ordinary stale rows, they reached owners older than end
// names (a rolling upgrade: new sources, old owners), which applied them as ends of the run that came after: the job's
// next run restarted a second time and was counted twice (an owner at f1471d4 wrote 10, stale, 3, 10, 3: 23 counted
// of 13 pushed). A restored source's re-said ends, and a restart named only by them, now travel in fields older
// decoders skip: the rows they read are those of a source restored from a checkpoint without ends (as before).
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ProducedMessage } from '../../src/kafka/index.js';
import type { IngestBatch, OutputSample } from '../../src/model.js';
import { PartialsPublisher, SeriesCombiner, SourceState, decodePartials } from '../../src/repartition/index.js';
import { batch, counter } from '../aggregate/fixtures.js';
import { OPTS, OWNER, T0, find, viaJson } from '../lib/partials-pipeline.js';
import { show } from '../lib/owner-writes.js';

/** What a decoder that knows neither kept ends nor end names reads: the rows of each message. */
const rows = (messages: Buffer[]) => messages.map((m) => (JSON.parse(gunzipSync(m).toString('utf8')) as { s: unknown[] }).s);

/** Run 1 pushes 10 and is deleted (the checkpoint of that collect keeps its end), run 2 pushes 3; the source crashes
 *  and is restored from that checkpoint (`withoutEnds`: as a relay older than kept ends wrote it). */
async function restoredFlush(withoutEnds: boolean) {
  const owner = new SeriesCombiner(OWNER);
  let sent: Buffer[] = [];
  const producer = {
    send: async (_topic: string, messages: ProducedMessage[]) => {
      for (const m of messages) {
        sent.push(m.value as Buffer);
        owner.apply(decodePartials(m.value as Buffer), T0);
      }
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
  const flush = async (at: number) => {
    sent = [];
    const samples = state.collect(at);
    const checkpoint = { state: viaJson(state.toState()) as Record<string, unknown>, offset: records.length };
    await publisher.publish([{ source: 'in/0', offset: BigInt(records.length), samples }]);
    return checkpoint;
  };
  const written: unknown[] = [];
  const collect = (at: number) => written.push(show(find(owner.collect(at), 'rows_total')));
  apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 10)] }));
  await flush(T0 + 10_000);
  collect(T0 + 10_000);
  apply(batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }));
  const checkpoint = await flush(T0 + 20_000);
  collect(T0 + 20_000);
  collect(T0 + 21_000);
  apply(batch({ producer: 'run2', job: 'etl', points: [counter('rows_total', 3)] }));
  await flush(T0 + 30_000);
  collect(T0 + 30_000);
  if (withoutEnds) delete checkpoint.state['ends'];
  else expect(checkpoint.state['ends']).toBeDefined();
  state = SourceState.fromState(checkpoint.state, OPTS, 3_600_000);
  for (let o = checkpoint.offset; o < records.length; o++) state.apply(records[o]!, T0 + 35_000);
  await flush(T0 + 40_000);
  const messages = sent;
  collect(T0 + 40_000);
  collect(T0 + 50_000);
  return { messages, written };
}

/** Run 1 pushes 11 then 16 and is deleted, that publish lost (the checkpoint of its collect keeps the end); run 2
 *  pushes 3; the source crashes and is restored from that checkpoint: it says the end again, and run 2's value after it. */
async function lostEndThenNextRun() {
  const owner = new SeriesCombiner(OWNER);
  let lost = false;
  let sent: Buffer[] = [];
  const producer = {
    send: async (_topic: string, messages: ProducedMessage[]) => {
      if (lost) throw new Error('request timed out');
      for (const m of messages) {
        sent.push(m.value as Buffer);
        owner.apply(decodePartials(m.value as Buffer), T0);
      }
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
  const flush = async (at: number) => {
    sent = [];
    const samples = state.collect(at);
    const checkpoint = { state: viaJson(state.toState()), offset: records.length };
    await publisher.publish([{ source: 'in/0', offset: BigInt(records.length), samples }]).catch(() => state.publishAll());
    return checkpoint;
  };
  apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 11)] }));
  await flush(T0 + 10_000);
  const at = (x: OutputSample | undefined) => (x === undefined || x.stale ? show(x) : `${show(x)}@${x.start! - T0}`);
  const written: unknown[] = [at(find(owner.collect(T0 + 10_000), 'rows_total'))];
  apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 16)] }));
  apply(batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }));
  lost = true;
  const checkpoint = await flush(T0 + 20_000);
  lost = false;
  apply(batch({ producer: 'run2', job: 'etl', points: [counter('rows_total', 3)] }));
  state = SourceState.fromState(checkpoint.state, OPTS, 3_600_000);
  for (let o = checkpoint.offset; o < records.length; o++) state.apply(records[o]!, T0 + 25_000);
  await flush(T0 + 30_000);
  const messages = sent;
  for (const dt of [30_000, 40_000, 50_000]) written.push(at(find(owner.collect(T0 + dt), 'rows_total')));
  return { messages, written };
}

describe('ends said again by a restored source are hidden from older owners', () => {
  it('the rows an older decoder reads are those of a source restored without its kept ends', async () => {
    const kept = await restoredFlush(false);
    const before = await restoredFlush(true);
    expect(rows(kept.messages)).toEqual(rows(before.messages));
    // (The value of run 2 alone, a plain value: no end row, no restart.)
    expect(rows(kept.messages)).toEqual([[['t', '__name__="rows_total",job="etl",', 3, 0]]]);
  });

  it('an owner that knows end names still reads the re-said end, and counts each run once', async () => {
    const kept = await restoredFlush(false);
    const again = decodePartials(kept.messages[0]!).series.filter((p) => p.stale);
    expect(again.map((p) => [p.final?.value, p.end])).toEqual([[10, 1]]);
    expect(kept.written).toEqual([10, 'stale', undefined, 3, 3, 3]);
  });

  it("a restart only a re-said end names is a restart to newer owners, a plain value to older ones", async () => {
    const { messages, written } = await lostEndThenNextRun();
    // Run 1's final total, then run 2 counted from zero, as a new series (a later start): none of run 1's 16 again.
    expect(written).toEqual(['11@0', '16@0', '3@1', '3@1']);
    const series = decodePartials(messages[0]!).series;
    expect(series.map((p) => [p.stale, p.restart, p.again])).toEqual([[true, 2, true], [false, 2, true]]);
    expect(rows(messages)).toEqual([[['t', '__name__="rows_total",job="etl",', 3, 0]]]);
  });
});
