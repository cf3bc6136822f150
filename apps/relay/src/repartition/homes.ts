// Producer homes: every push of one job + grouping (a producer's state: counter baselines, gauges) is applied in one
// partition of its topic, whatever partition it was written to. The home is where the Java client and kafkajs put the
// message key the format prescribes (`job=…,<grouping>`, murmur2): their pushes, the emitter's and the ingest's are
// home already; one that another partitioner put elsewhere (librdkafka's CRC32, a null key, an instance key) is
// forwarded there once by the relay that consumes it.
import type { Logger } from 'pino';
import { buildMessageKey } from '@prom-relay/emitter';
import type { KafkaRecord, RelayAdmin, RelayProducer } from '../kafka/index.js';
import { KAFKA_DEFAULT_MAX_MESSAGE_BYTES, requestsWithin } from '../kafka/message-bytes.js';
import { parseHeaders } from '../decode/headers.js';
import type { IngestBatch } from '../model.js';

export const FORWARDED_HEADER = 'prom-relay-forwarded-from';

/** Kafka's murmur2 (the Java client's and kafkajs's default partitioner), over the key's UTF-8 bytes. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition the default partitioner of Kafka's Java client (and kafkajs's) gives `key`. */
export function homePartition(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

export class ProducerHomes {
  private readonly partitions = new Map<string, number>();
  /** each input topic's max.message.bytes (read with its partition count) */
  private readonly maxMessageBytes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: Pick<RelayAdmin, 'highWatermarks'> & Partial<Pick<RelayAdmin, 'maxMessageBytes'>>,
    private readonly producer: RelayProducer,
    private readonly topics: string[],
    private readonly producerLabels: readonly string[],
    private readonly logger: Logger,
    /** the decoder's temporality for a record without the header */
    private readonly defaultTemporality: 'cumulative' | 'delta' = 'cumulative',
  ) {}

  /** Reads the partition count (and max.message.bytes) of every input topic now, then every minute (a topic can grow). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    for (const topic of this.topics) {
      try {
        const n = (await this.admin.highWatermarks(topic)).size;
        const before = this.partitions.get(topic);
        if (n > 0) this.partitions.set(topic, n);
        if (before !== undefined && before !== n) this.logger.warn({ topic, before, now: n }, 'input topic partition count changed: producer homes move');
        const limit = await this.admin.maxMessageBytes?.(topic);
        if (limit !== undefined) this.maxMessageBytes.set(topic, limit);
      } catch (err) {
        this.logger.warn({ err, topic }, 'cannot read the partition count of an input topic; pushes are applied where they land meanwhile');
      }
    }
  }

  /** Where a decoded push belongs; undefined: apply it where it is (delta pushes need no home: they only add). */
  partitionOf(record: KafkaRecord, batch: Pick<IngestBatch, 'temporality' | 'op' | 'job' | 'grouping'>): number | undefined {
    if (batch.temporality === 'delta' && batch.op !== 'delete') return undefined;
    // A whole-job delete (no grouping labels) is produced to every partition and applied in each (docs/message-format.md).
    if (batch.op === 'delete' && Object.keys(batch.grouping).length === 0) return undefined;
    const n = this.partitions.get(record.topic);
    if (n === undefined) return undefined;
    return homePartition(buildMessageKey(batch.job, batch.grouping, this.producerLabels), n);
  }

  /**
   * Where a record of an input topic belongs, from its headers alone (job, grouping, temporality and op are headers):
   * a push landed elsewhere is forwarded without decoding its body here (its home decodes it once). Undefined: apply
   * it where it is — already forwarded, not an input topic, or headers the decoder will refuse (it dead-letters them).
   */
  homeOf(record: KafkaRecord): number | undefined {
    if (record.headers[FORWARDED_HEADER] !== undefined || !this.partitions.has(record.topic)) return undefined;
    let headers: ReturnType<typeof parseHeaders>;
    try {
      headers = parseHeaders(record.headers ?? {}, this.defaultTemporality);
    } catch {
      return undefined;
    }
    return this.partitionOf(record, headers);
  }

  /**
   * The records again, each on its home partition, with its timestamp and a header naming where it came from; resolves
   * once Kafka acknowledged every one. As few produce requests as the topic takes: Kafka refuses a partition's batch
   * over the topic's max.message.bytes, and pushes that each fit it may not fit together (refused for ever, their
   * partition would stall), so a topic's records go in consecutive requests within it, in order.
   */
  async forward(records: ReadonlyArray<{ record: KafkaRecord; partition: number }>): Promise<void> {
    const byTopic = new Map<string, Parameters<RelayProducer['send']>[1]>();
    for (const { record, partition } of records) {
      let messages = byTopic.get(record.topic);
      if (messages === undefined) byTopic.set(record.topic, (messages = []));
      messages.push({
        key: record.key,
        value: record.value,
        headers: { ...record.headers, [FORWARDED_HEADER]: `${record.topic}/${record.partition}/${record.offset}` },
        partition,
        timestamp: record.timestamp,
      });
    }
    await Promise.all(
      [...byTopic].map(async ([topic, messages]) => {
        for (const request of requestsWithin(messages, this.maxMessageBytes.get(topic) ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES)) {
          await this.producer.send(topic, request);
        }
      }),
    );
  }
}
