import { describe, expect, it } from 'vitest';
import { deadLetterMessage, DLQ_HEADERS, messageBytes } from '../../src/dlq/index.js';
import type { KafkaRecord } from '../../src/kafka/index.js';

const reason = { code: 'PROM_RELAY_DECODE_TEXT', message: 'line 1, column 3: unexpected byte' };

function record(valueBytes: number, headers: KafkaRecord['headers'] = {}): KafkaRecord {
  return {
    topic: 'prom-relay.metrics',
    partition: 2,
    offset: '77',
    key: Buffer.from('job=etl'),
    value: Buffer.alloc(valueBytes, 0x61),
    headers: { 'content-type': Buffer.from('text/plain; version=0.0.4'), ...headers },
    timestamp: '0',
  };
}

describe('deadLetterMessage (fit to the DLQ limit)', () => {
  it('keeps a record that fits whole, with no truncation headers', () => {
    const { message, truncated } = deadLetterMessage(record(1000), reason, 1 << 20);
    expect(truncated).toEqual([]);
    expect((message.value as Buffer).length).toBe(1000);
    expect(message.headers![DLQ_HEADERS.truncated]).toBeUndefined();
    expect(message.headers![DLQ_HEADERS.reason]).toBe(reason.code);
  });

  it('cuts a larger value to fit, keeping every reason header, the original size and the original headers', () => {
    const limit = 1 << 20;
    const { message, truncated } = deadLetterMessage(record(20 * 1024 * 1024), reason, limit);
    expect(truncated).toEqual(['value']);
    expect(messageBytes(message)).toBeLessThanOrEqual(limit);
    expect((message.value as Buffer).length).toBeGreaterThan(limit - 4096);
    const h = message.headers!;
    expect(h[DLQ_HEADERS.truncated]).toBe('value');
    expect(h[DLQ_HEADERS.originalBytes]).toBe(String(20 * 1024 * 1024));
    expect(h[DLQ_HEADERS.reason]).toBe(reason.code);
    expect(h[DLQ_HEADERS.error]).toBe(reason.message);
    expect([h[DLQ_HEADERS.topic], h[DLQ_HEADERS.partition], h[DLQ_HEADERS.offset]]).toEqual(['prom-relay.metrics', '2', '77']);
    expect(String(h['content-type'])).toBe('text/plain; version=0.0.4');
    expect(message.key).toEqual(Buffer.from('job=etl'));
  });

  it('drops an original header too big for the room and says so', () => {
    const { message, truncated } = deadLetterMessage(record(10, { huge: Buffer.alloc(2_000_000) }), reason, 1 << 20);
    expect(truncated).toEqual(['headers']);
    expect(message.headers!.huge).toBeUndefined();
    expect(String(message.headers!['content-type'])).toBe('text/plain; version=0.0.4');
    expect(message.headers![DLQ_HEADERS.truncated]).toBe('headers');
    expect(messageBytes(message)).toBeLessThanOrEqual(1 << 20);
  });
});
