// Source partitions (real aggregates behind SourceState), the real publisher and wire format, and the owner
// (SeriesCombiner) of every series: the repartition stage in one process, flush by flush, for regression tests.
import type { ProducedMessage } from '../../src/kafka/index.js';
import type { IngestBatch, InputPoint, OutputSample } from '../../src/model.js';
import { PartialsPublisher, SeriesCombiner, SourceState, decodePartials } from '../../src/repartition/index.js';
import { batch, options } from '../aggregate/fixtures.js';

export const T0 = 1_764_000_000_000;
export const OPTS = options({ seriesTtlMs: 60_000, counterTtlMs: 120_000, producerTtlMs: 3_600_000 });
export const OWNER = { ttlMs: 27 * 3_600_000 };
export const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

export type Pipeline = ReturnType<typeof pipeline>;

export function pipeline(sources = ['in/0']) {
  const sent: ProducedMessage[] = [];
  let unacknowledged = false;
  // Kafka takes the messages; a failing publish is one whose acknowledgement was lost (the owner still gets them).
  const producer = {
    send: async (_topic: string, messages: ProducedMessage[]) => {
      sent.push(...messages);
      if (unacknowledged) throw new Error('request timed out');
    },
  };
  const publisher = new PartialsPublisher(producer as never, 'partials', 1);
  const parts = new Map(sources.map((name) => [name, { state: SourceState.create(OPTS, 3_600_000), offset: 0 }]));
  /** A record applied at the partition's next offset (its position, as the decoder sets it). */
  const apply = (name: string, b: IngestBatch, at: number) => {
    const part = parts.get(name)!;
    b.position = { topic: 'in', partition: Number(name.slice(name.indexOf('/') + 1)), offset: String(part.offset) };
    part.offset++;
    part.state.apply(b, at);
  };
  const p = {
    owner: new SeriesCombiner(OWNER),
    push(points: InputPoint[], producer: string, at: number, source = 'in/0', job = 'etl') {
      apply(source, batch({ producer, job, points }), at);
    },
    /** `DELETE /metrics/job/<job>`: the ingest writes it to every partition (`only`: one, as its replay does). */
    deleteJob(at: number, job = 'etl', only?: string) {
      for (const name of parts.keys()) if (only === undefined || name === only) apply(name, batch({ producer: `pushgateway/job=${job}`, job, op: 'delete' }), at);
    },
    /** A source partition's checkpoint: its state and next offset. */
    checkpoint(source = 'in/0'): { state: unknown; offset: number } {
      const part = parts.get(source)!;
      return { state: viaJson(part.state.toState()), offset: part.offset };
    },
    /** The source's relay crashed: it starts again from `checkpoint` (the test applies the records after it again). */
    restore(checkpoint: { state: unknown; offset: number }, source = 'in/0') {
      parts.set(source, { state: SourceState.fromState(checkpoint.state, OPTS, 3_600_000), offset: checkpoint.offset });
    },
    /** Each source's collect and publish, applied by the owner in the order published; the messages of this flush. */
    async flush(at: number, failing?: string): Promise<Buffer[]> {
      const messages: Buffer[] = [];
      for (const [name, part] of parts) {
        sent.length = 0;
        unacknowledged = name === failing;
        const samples = part.state.collect(at);
        await publisher.publish([{ source: name, offset: BigInt(part.offset), samples }]).catch(() => part.state.publishAll());
        for (const m of sent) messages.push(m.value as Buffer);
      }
      applyAll(p.owner, messages, at);
      return messages;
    },
  };
  return p;
}

export function applyAll(owner: SeriesCombiner, messages: Buffer[], at: number): void {
  for (const m of messages) owner.apply(decodePartials(m), at);
}

export const find = (samples: OutputSample[], name: string) => samples.find((s) => s.labels['__name__'] === name);
