// A request's Kafka messages against the ingest topic's max.message.bytes, before they are produced: Kafka refuses a
// message larger than that on every attempt (MESSAGE_TOO_LARGE), so a 503 would be retried for ever, and in a group
// commit (ingest.ts, coalescedSend) it would fail the pushes produced beside it. Such a request is answered 413.
import { messageBytes } from '../kafka/message-bytes.js';
import { IngestError } from './errors.js';
import type { IngestMessage } from './ingest.js';

/** The ingest topic and its max.message.bytes (an operator-made topic may take less than ingest.max_body_bytes). */
export interface TopicLimit {
  topic: string;
  maxMessageBytes: number;
}

/**
 * Throws PROM_RELAY_INGEST_TOO_LARGE (413) when one of `messages` takes more than the topic's max.message.bytes in a
 * record batch (messageBytes: the batch's own framing included, never less than what the broker measures).
 */
export function checkMessagesFit(messages: readonly IngestMessage[], limit: TopicLimit): void {
  for (const m of messages) {
    const bytes = messageBytes(m);
    if (bytes > limit.maxMessageBytes) {
      throw new IngestError(
        'PROM_RELAY_INGEST_TOO_LARGE',
        `the push makes a Kafka message of ${bytes} bytes (compressed body and headers), more than the ${limit.maxMessageBytes} bytes ` +
          `the ingest topic ${limit.topic} takes (its max.message.bytes): split the push, or raise the topic's max.message.bytes`,
      );
    }
  }
}
