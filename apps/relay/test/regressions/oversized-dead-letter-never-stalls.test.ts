// Guards issue 10 item 2: a record larger than the DLQ topic's max.message.bytes made the DLQ write fail in a loop
// (MESSAGE_TOO_LARGE), so no later record of its partition was ever applied while /readyz stayed green.
// Now the DLQ is created large enough for the ingest's largest body, and a larger dead letter is cut to fit.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../src/dlq/index.js';
import { jobPush, Ledger, newRun, relayTestEnvironment, settledTotals, writeRelayConfig } from '../e2e/harness.js';

const MB = 1024 * 1024;
const env = relayTestEnvironment();

/** A text exposition body of about `bytes` whose last line cannot be parsed (a label set never closed). */
function poison(bytes: number) {
  const padding = `# ${'x'.repeat(1022)}\n`;
  const body = Buffer.from(`${padding.repeat(Math.ceil(bytes / padding.length))}e2e_rows_total{table="users" 1\n`);
  return buildMessage({ contentType: CONTENT_TYPE.text, job: 'dlq-big', grouping: { instance: 'poison' }, producerId: randomUUID(), sequence: 0 }, body);
}

async function readDlq(topic: string, count: number) {
  const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: testTopicName('dlq-reader'), maxBytes: 64 * MB, maxBytesPerPartition: 64 * MB });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { value: Buffer; headers: Record<string, string> }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        got.push({ value: message.value!, headers });
        if (got.length === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return got;
}

it('dead-letters a 2 MB and a 20 MB bad record (the larger one cut to fit) and applies the good record after them', async () => {
  const { prom, producer } = env;
  // The input topic takes 20 MB records: the relay must cope with whatever its topic accepts.
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1, config: { 'max.message.bytes': 32 * MB } });
  const dlqTopic = testTopicName('dlq');
  const relay = await env.startRelay(
    writeRelayConfig({ brokers: testKafkaBrokers(), topic, groupId: testTopicName('relay'), dlqTopic, checkpointTopic: testTopicName('ckpt'), remoteWriteUrl: prom.remoteWriteUrl }),
  );

  const ledger = new Ledger();
  const run = newRun('dlq-good');
  const small = poison(2 * MB);
  const big = poison(20 * MB);
  await producer.send({ topic, acks: -1, messages: [small] });
  await producer.send({ topic, acks: -1, messages: [big] });
  await producer.send({ topic, acks: -1, messages: [jobPush(run, { users: 7 }, ledger, 1)] });

  // The good record behind the two dead letters reaches Prometheus: the partition was never stalled.
  const totals = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect(totals.get(key), key).toBe(value);

  const [first, second] = await readDlq(dlqTopic, 2);
  expect(first!.value.equals(small.value)).toBe(true);
  expect(first!.headers[DLQ_HEADERS.truncated]).toBeUndefined();
  expect(first!.headers[DLQ_HEADERS.offset]).toBe('0');
  expect(second!.headers[DLQ_HEADERS.offset]).toBe('1');
  expect(second!.headers[DLQ_HEADERS.reason]).toMatch(/^PROM_RELAY_DECODE_/);
  expect(second!.headers[DLQ_HEADERS.error]).not.toBe('');
  expect(second!.headers[DLQ_HEADERS.truncated]).toBe('value');
  expect(second!.headers[DLQ_HEADERS.originalBytes]).toBe(String(big.value.length));
  expect(second!.headers['content-type']).toBe(big.headers['content-type']);
  // Cut to the DLQ's limit (16 MiB by default), keeping as much of the body as fits.
  expect(second!.value.length).toBeLessThan(16 * MB);
  expect(second!.value.length).toBeGreaterThan(15 * MB);
  expect(second!.value.equals(big.value.subarray(0, second!.value.length))).toBe(true);

  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  expect(metrics).toMatch(/^prom_relay_dead_letters_truncated_total\{reason="PROM_RELAY_DECODE_[A-Z_]+"\} 1$/m);
  expect(metrics).not.toMatch(/^prom_relay_partition_stalled_seconds\{/m);
  const ready = await fetch(`${relay.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ stalled: 'none' });
  // Each dead letter logged at warn with where it came from.
  const warned = relay.logs.filter((l) => l.msg === 'record dead-lettered');
  expect(warned.map((l) => [l.level, l.topic, l.partition, l.offset])).toEqual([
    [40, topic, 0, '0'],
    [40, topic, 0, '1'],
  ]);
  expect(warned[1]!.truncated).toBe('value');
}, 150_000);
