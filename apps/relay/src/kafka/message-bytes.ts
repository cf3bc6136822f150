// What a message takes in a Kafka record batch, and produce requests cut to what a topic takes: the broker refuses a
// partition's record batch over the topic's max.message.bytes (MESSAGE_TOO_LARGE), and a produce request carries
// one batch per partition, so many messages that fit one by one may not fit together.
import type { ProducedMessage } from './types.js';

/** Record batch header (61 bytes) and one record's own framing, rounded up. */
const RECORD_FRAMING = 128;

/** Kafka's default max.message.bytes (1 MiB + 12): what a topic whose own value is unknown is taken to allow. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Kept free below a topic's limit when cutting requests: the estimate is close, not exact. */
export const SAFETY_BYTES = 1024;

type Headers = NonNullable<ProducedMessage['headers']>;

export function byteLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

export function headerBytes(name: string, value: Headers[string]): number {
  const values = Array.isArray(value) ? value : [value];
  return values.reduce((n, v) => n + Buffer.byteLength(name) + byteLength(v) + 10, 0);
}

/** Bytes a message takes in a record batch (close estimate, never low by more than a few bytes per header). */
export function messageBytes(m: ProducedMessage): number {
  let n = RECORD_FRAMING + byteLength(m.key) + byteLength(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {})) n += headerBytes(name, value);
  return n;
}

/**
 * `messages` in order, cut into consecutive requests of at most `maxMessageBytes - SAFETY_BYTES` each (a message
 * larger than that alone goes alone): each request's batch for any one partition then fits a topic of that limit.
 */
export function requestsWithin(messages: readonly ProducedMessage[], maxMessageBytes: number): ProducedMessage[][] {
  const budget = maxMessageBytes - SAFETY_BYTES;
  const out: ProducedMessage[][] = [];
  let part: ProducedMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const n = messageBytes(m);
    if (part.length > 0 && bytes + n > budget) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(m);
    bytes += n;
  }
  if (part.length > 0) out.push(part);
  return out;
}
