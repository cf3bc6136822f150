// The dead-letter topic: a record the relay cannot decode goes there as it came, plus why and where from.
import type { KafkaRecord, ProducedMessage, RelayProducer } from '../kafka/index.js';

export const DLQ_HEADERS = {
  reason: 'prom-relay-dlq-reason',
  error: 'prom-relay-dlq-error',
  topic: 'prom-relay-dlq-topic',
  partition: 'prom-relay-dlq-partition',
  offset: 'prom-relay-dlq-offset',
} as const;

/** Why a record is dead: an error code (`PROM_RELAY_DECODE_*`) and its message. */
export interface DeadLetterReason {
  code: string;
  message: string;
}

const MAX_ERROR_HEADER = 1024;

/** The DLQ message for a record: original key, value and headers; reason and source position added. */
export function deadLetterMessage(record: KafkaRecord, reason: DeadLetterReason): ProducedMessage {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.reason]: reason.code,
      [DLQ_HEADERS.error]: reason.message.slice(0, MAX_ERROR_HEADER),
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: record.offset,
    },
  };
}

export class DeadLetterQueue {
  constructor(
    private readonly producer: RelayProducer,
    readonly topic: string,
    private readonly onDeadLetter: (reason: DeadLetterReason, record: KafkaRecord) => void = () => {},
  ) {}

  /** Resolves once the DLQ topic acknowledged the record (acks -1). */
  async send(record: KafkaRecord, reason: DeadLetterReason): Promise<void> {
    await this.producer.send(this.topic, [deadLetterMessage(record, reason)]);
    this.onDeadLetter(reason, record);
  }
}
