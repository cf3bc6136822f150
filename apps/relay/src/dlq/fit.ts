// A dead letter always fits its topic: a record larger than the DLQ's max.message.bytes is written cut down,
// with every reason header, the original size and what was cut, so that one can never block its partition.
import type { KafkaRecord, ProducedMessage } from '../kafka/index.js';
import { byteLength, headerBytes, messageBytes, SAFETY_BYTES } from '../kafka/message-bytes.js';

export { messageBytes };

export const DLQ_HEADERS = {
  reason: 'prom-relay-dlq-reason',
  error: 'prom-relay-dlq-error',
  topic: 'prom-relay-dlq-topic',
  partition: 'prom-relay-dlq-partition',
  offset: 'prom-relay-dlq-offset',
  /** what was cut to fit the DLQ topic: `value`, `key`, `headers`, comma-separated */
  truncated: 'prom-relay-dlq-truncated',
  /** the original record's value size in bytes (set when truncated) */
  originalBytes: 'prom-relay-dlq-original-bytes',
} as const;

/** Why a record is dead: an error code (`PROM_RELAY_DECODE_*`) and its message. */
export interface DeadLetterReason {
  code: string;
  message: string;
}

const MAX_ERROR_HEADER = 1024;
const MAX_TRUNCATED_KEY = 1024;

type Headers = NonNullable<ProducedMessage['headers']>;

export interface FittedDeadLetter {
  message: ProducedMessage;
  /** what was cut (empty when the record went whole) */
  truncated: ('value' | 'key' | 'headers')[];
}

/** The DLQ message for a record: original key, value and headers, reason and source position added, cut to `limit` bytes. */
export function deadLetterMessage(record: KafkaRecord, reason: DeadLetterReason, limit = Infinity): FittedDeadLetter {
  const dlqHeaders: Headers = {
    [DLQ_HEADERS.reason]: reason.code,
    [DLQ_HEADERS.error]: reason.message.slice(0, MAX_ERROR_HEADER),
    [DLQ_HEADERS.topic]: record.topic,
    [DLQ_HEADERS.partition]: String(record.partition),
    [DLQ_HEADERS.offset]: record.offset,
  };
  const whole: ProducedMessage = { key: record.key, value: record.value, headers: { ...record.headers, ...dlqHeaders } };
  const budget = limit - SAFETY_BYTES;
  if (messageBytes(whole) <= budget) return { message: whole, truncated: [] };

  const truncated: FittedDeadLetter['truncated'] = [];
  const markers: Headers = {
    [DLQ_HEADERS.truncated]: 'value,key,headers',
    [DLQ_HEADERS.originalBytes]: String(byteLength(record.value)),
  };
  let key = record.key;
  if (key && key.length > MAX_TRUNCATED_KEY) {
    key = key.subarray(0, MAX_TRUNCATED_KEY);
    truncated.push('key');
  }
  let left = budget - messageBytes({ key, value: null, headers: { ...dlqHeaders, ...markers } });
  // Original headers (content type, job, producer id) help more than the body's tail: kept while a quarter of the room lasts.
  let headerRoom = Math.max(0, Math.floor(left / 4));
  const kept: Headers = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (name in dlqHeaders || name in markers) continue;
    const n = headerBytes(name, value);
    if (n <= headerRoom) {
      kept[name] = value;
      headerRoom -= n;
      left -= n;
    } else if (!truncated.includes('headers')) truncated.push('headers');
  }
  const valueBytes = byteLength(record.value);
  let value = record.value;
  if (value && valueBytes > Math.max(0, left)) {
    value = value.subarray(0, Math.max(0, left));
    truncated.unshift('value');
  }
  markers[DLQ_HEADERS.truncated] = truncated.join(',');
  return { message: { key, value, headers: { ...kept, ...dlqHeaders, ...markers } }, truncated };
}
