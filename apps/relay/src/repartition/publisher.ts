// The source partitions' side of the repartition stage: each flush, every live output series of a source partition
// goes to the partials-topic partition that owns it (the relay's hash of the series, whatever the producers' keys).
import type { ProducedMessage, RelayProducer } from '../kafka/index.js';
import { KAFKA_DEFAULT_MAX_MESSAGE_BYTES, requestsWithin } from '../kafka/message-bytes.js';
import type { MetricMetadata } from '@prom-relay/codec';
import type { OutputSample } from '../model.js';
import { labelsKey } from '../aggregate/labels.js';
import { isSaidAgain } from './source-state.js';
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
  /**
   * Where each end (a total's stale sample) was first published: the ends of a failed publish come again in the next
   * snapshot (SourceState.publishAll, the same objects), and a restart made of one must keep its name (see restarts).
   * The name of an end whose delete's record offset is unknown (`OutputSample.final.offset`: a batch without position).
   */
  private readonly endOffsets = new WeakMap<OutputSample, number>();
  /** restarts (values) that only ends said again by a restored source name (see restarts) */
  private readonly againRestarts = new WeakSet<OutputSample>();

  constructor(
    private readonly producer: RelayProducer,
    readonly topic: string,
    /** partitions of the partials topic (read once at start: the hash depends on it) */
    readonly partitions: number,
    /** the partials topic's max.message.bytes: what one produce request may carry per partition */
    private readonly maxMessageBytes = KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
  ) {}

  /**
   * Encodes and produces the partials of every snapshot; resolves once Kafka acknowledged all of them. A message is
   * encoded as soon as it is complete, so its partials die young: when every message was encoded after all of them
   * were made, 100k partials (a source's first flush) put ~8 MB of them into the old generation. The messages go in
   * as few produce requests as the topic takes (its max.message.bytes bounds what one request carries per partition:
   * a large source's messages for one owner, each within it, were refused together at every flush), in order: the
   * parts of one publish are numbered, and an owner reads a later part knowing the earlier ones (PartialBatch.part).
   */
  async publish(snapshots: SourceSnapshot[]): Promise<PublishResult> {
    const messages: Promise<ProducedMessage>[] = [];
    let partials = 0;
    for (const snap of snapshots) {
      const offset = Number(snap.offset);
      const restarts = this.restarts(snap.samples, offset);
      const headers = { [PARTIALS_HEADERS.contentType]: PARTIALS_CONTENT_TYPE, [PARTIALS_HEADERS.source]: snap.source, [PARTIALS_HEADERS.offset]: String(offset) };
      // How many messages of this publish each partials partition got so far (its next part: see PartialBatch.part).
      const parts = new Map<number, number>();
      const send = (partition: number, chunk: Chunk) => {
        const part = parts.get(partition) ?? 0;
        parts.set(partition, part + 1);
        messages.push(encodePartials({ source: snap.source, offset, series: chunk.series, metadata: [...chunk.meta.values()], part }).then((value) => ({ key: snap.source, value, partition, headers })));
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
        const partial = toPartial(s, key);
        const restart = restarts?.get(s);
        if (restart !== undefined) partial.restart = restart;
        if (partial.final !== undefined) partial.end = this.endName(s, offset);
        // Said again by a restored source (an end its checkpoint kept, a restart only such ends name): hidden from
        // owners older than end names, which took such an end for a new one (see PartialSeries.again).
        if (s.stale === true ? partial.end !== undefined && isSaidAgain(s) : restart !== undefined && this.againRestarts.has(s)) partial.again = true;
        chunk.series.push(partial);
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
    for (const request of requestsWithin(encoded, this.maxMessageBytes)) await this.producer.send(this.topic, request);
    return { messages: encoded.length, partials, bytes: encoded.reduce((n, m) => n + (m.value as Buffer).length, 0) };
  }

  /**
   * The name of an end with a final total (a whole-job delete's): the source offset of the delete's record, or, unknown
   * (a batch without position), the offset at which the end was first published (a failed publish's ends are said
   * again, the same objects).
   */
  private endName(s: OutputSample, offset: number): number {
    if (s.final?.offset !== undefined) return s.final.offset;
    let name = this.endOffsets.get(s);
    if (name === undefined) this.endOffsets.set(s, (name = offset));
    return name;
  }

  /**
   * A total (or native histogram) that ended and has a value again in the same snapshot (a whole-job delete and the
   * job's next run within one flush; a failed publish's end said again beside the next run) is a restart, named by the
   * source offset of the delete's record (or, unknown, the offset its end was first published at): the name of each such value and of the ends before it (which still go, for
   * owners older than restarts; newer ones skip them). As an end and a value at one offset, an owner could not tell a
   * repeated message from a second restart, nor the end of the old run from the end of the new one. Null when nothing
   * restarts (no total ended: most snapshots).
   */
  private restarts(samples: OutputSample[], offset: number): Map<OutputSample, number> | null {
    let ends: Map<string, OutputSample[]> | null = null;
    let out: Map<OutputSample, number> | null = null;
    for (const s of samples) {
      if ((s.combine !== 'total' && s.combine !== 'native') || (ends === null && s.stale !== true)) continue;
      const key = s.key ?? labelsKey(s.labels);
      if (s.stale === true) {
        if (!this.endOffsets.has(s)) this.endOffsets.set(s, offset);
        ends ??= new Map();
        const same = ends.get(key);
        if (same === undefined) ends.set(key, [s]);
        else same.push(s);
        continue;
      }
      const before = ends!.get(key);
      // A series that ended as one kind and came back as another is no restart (to the owner, a conflict).
      if (before === undefined || before.some((end) => end.combine !== s.combine)) continue;
      ends!.delete(key);
      out ??= new Map();
      // The latest end names the restart: the value is the run that began after it. By its delete's record offset where
      // known: a source that crashed after its publish applies the record again and says the restart at a later offset.
      const last = before[before.length - 1]!;
      const name = this.endName(last, offset);
      out.set(s, name);
      if (before.every(isSaidAgain)) this.againRestarts.add(s);
      for (const end of before) out.set(end, name);
    }
    return out;
  }
}

/** One message being made: its partials, the bytes counted towards MAX_CHUNK_BYTES, its families' metadata. */
interface Chunk {
  series: PartialSeries[];
  bytes: number;
  meta: Map<string, MetricMetadata>;
}
