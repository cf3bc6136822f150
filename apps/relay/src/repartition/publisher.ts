// The source partitions' side of the repartition stage: each flush, every live output series of a source partition
// goes to the partials-topic partition that owns it (the relay's hash of the series, whatever the producers' keys).
import type { ProducedMessage, RelayProducer } from '../kafka/index.js';
import type { MetricMetadata } from '@prom-relay/codec';
import type { OutputSample } from '../model.js';
import { labelsKey } from '../aggregate/labels.js';
import { PARTIALS_CONTENT_TYPE, PARTIALS_HEADERS, encodePartials, ownerPartition, toPartial, type PartialSeries } from './partials.js';

/** Raw JSON bytes per message before gzip: far below the topic's max.message.bytes even for label-heavy series. */
const MAX_CHUNK_BYTES = 512 * 1024;

export interface SourceSnapshot {
  /** `<topic>/<partition>` */
  source: string;
  /** the source partition's next offset: the state the samples describe */
  offset: bigint;
  samples: OutputSample[];
  /** family and type (help, unit) of an output series, sent along so the owner writes them */
  describe?: (sample: OutputSample) => MetricMetadata;
}

export interface PublishResult {
  messages: number;
  partials: number;
  bytes: number;
}

export class PartialsPublisher {
  constructor(
    private readonly producer: RelayProducer,
    readonly topic: string,
    /** partitions of the partials topic (read once at start: the hash depends on it) */
    readonly partitions: number,
  ) {}

  /**
   * Encodes and produces the partials of every snapshot; resolves once Kafka acknowledged all of them. A message is
   * encoded as soon as it is complete, so its partials die young: when every message was encoded after all of them
   * were made, 100k partials (a source's first flush) put ~8 MB of them into the old generation.
   */
  async publish(snapshots: SourceSnapshot[]): Promise<PublishResult> {
    const messages: Promise<ProducedMessage>[] = [];
    let partials = 0;
    for (const snap of snapshots) {
      const offset = Number(snap.offset);
      const headers = { [PARTIALS_HEADERS.contentType]: PARTIALS_CONTENT_TYPE, [PARTIALS_HEADERS.source]: snap.source, [PARTIALS_HEADERS.offset]: String(offset) };
      const send = (partition: number, chunk: Chunk) => {
        messages.push(encodePartials({ source: snap.source, offset, series: chunk.series, metadata: [...chunk.meta.values()] }).then((value) => ({ key: snap.source, value, partition, headers })));
      };
      const open = new Map<number, Chunk>();
      for (const s of snap.samples) {
        const owner = ownerPartition(s.labels, this.partitions);
        const key = s.key ?? labelsKey(s.labels);
        let chunk = open.get(owner);
        if (chunk !== undefined && chunk.bytes + key.length > MAX_CHUNK_BYTES && chunk.series.length > 0) {
          send(owner, chunk);
          chunk = undefined;
        }
        if (chunk === undefined) open.set(owner, (chunk = { series: [], bytes: 0, meta: new Map() }));
        chunk.series.push(toPartial(s, key));
        if (snap.describe !== undefined && !s.stale) {
          const meta = snap.describe(s);
          if (!chunk.meta.has(meta.metricFamilyName)) chunk.meta.set(meta.metricFamilyName, meta);
        }
        chunk.bytes += key.length + 32;
        partials++;
      }
      for (const [partition, chunk] of open) send(partition, chunk);
    }
    const encoded = await Promise.all(messages);
    if (encoded.length > 0) await this.producer.send(this.topic, encoded);
    return { messages: encoded.length, partials, bytes: encoded.reduce((n, m) => n + (m.value as Buffer).length, 0) };
  }
}

/** One message being made: its partials, the bytes counted towards MAX_CHUNK_BYTES, its families' metadata. */
interface Chunk {
  series: PartialSeries[];
  bytes: number;
  meta: Map<string, MetricMetadata>;
}
