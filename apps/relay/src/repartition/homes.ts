// Producer homes: every producer's pushes are applied in one partition of their topic (its home, the relay's hash of
// the producer id), whatever partition they were written to. The ingest writes there directly; a push another
// client's partitioner put elsewhere is forwarded there once by the relay that consumes it.
import type { Logger } from 'pino';
import type { KafkaRecord, ProducedMessage, RelayAdmin, RelayProducer } from '../kafka/index.js';
import type { IngestBatch } from '../model.js';
import { homePartition } from './partials.js';

export const FORWARDED_HEADER = 'prom-relay-forwarded-from';
const PRODUCER_HEADER = 'prom-relay-producer';

export class ProducerHomes {
  private readonly partitions = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: Pick<RelayAdmin, 'highWatermarks'>,
    private readonly producer: RelayProducer,
    private readonly topics: string[],
    private readonly logger: Logger,
  ) {}

  /** Reads the partition count of every input topic now, then every minute (a topic can grow). */
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
      } catch (err) {
        this.logger.warn({ err, topic }, 'cannot read the partition count of an input topic; pushes are applied where they land meanwhile');
      }
    }
  }

  /** Where a decoded push belongs; undefined: apply it where it is (delta pushes need no home: they only add). */
  partitionOf(record: KafkaRecord, batch: IngestBatch): number | undefined {
    if (batch.temporality === 'delta' && batch.op !== 'delete') return undefined;
    const n = this.partitions.get(record.topic);
    return n === undefined ? undefined : homePartition(batch.producerId, n);
  }

  /** The record again, on its home partition, with its timestamp and a header naming where it came from. */
  async forward(record: KafkaRecord, partition: number): Promise<void> {
    await this.producer.send(record.topic, [
      {
        key: record.key,
        value: record.value,
        headers: { ...record.headers, [FORWARDED_HEADER]: `${record.topic}/${record.partition}/${record.offset}` },
        partition,
        timestamp: record.timestamp,
      },
    ]);
  }

  /** The ingest's messages with their home partition set, so no relay needs to forward them. */
  place(topic: string, messages: ProducedMessage[]): ProducedMessage[] {
    const n = this.partitions.get(topic);
    if (n === undefined) return messages;
    return messages.map((m) => {
      const producer = m.headers?.[PRODUCER_HEADER];
      const id = Buffer.isBuffer(producer) ? producer.toString('utf8') : typeof producer === 'string' ? producer : undefined;
      return id === undefined ? m : { ...m, partition: homePartition(id, n) };
    });
  }
}
