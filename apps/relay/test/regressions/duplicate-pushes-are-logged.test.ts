// "Silence is a bug": a push the aggregate ignores as a duplicate (its producer already sent that sequence number)
// was counted (prom_relay_points_rejected_total{reason="duplicate"}) and never logged. Routine after a retried send,
// it is also what a producer id reused by another run looks like: that run's points are lost. Now an info line,
// rate-limited per partition, says so (PROM_RELAY_AGGREGATE_DUPLICATE). Real Kafka, the relay as a process.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, relayTestEnvironment, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

it('a push ignored as a duplicate is counted and logged, naming the code', async () => {
  const { producer } = env;
  const topic = await createTestTopic({ prefix: 'dup', partitions: 1 });
  const relay = await env.startRelay(env.relayConfig({ topic }));
  const producerId = randomUUID();
  const push = (value: number) =>
    buildMessage({ contentType: CONTENT_TYPE.text, job: 'dup-job', grouping: { instance: 'h' }, producerId, sequence: 0 }, Buffer.from(`# TYPE e2e_dup_total counter\ne2e_dup_total ${value}\n`));
  // Two runs that share a producer id and start their sequence at 0: the second is taken for the first sent again.
  await producer.send({ topic, acks: -1, messages: [push(5)] });
  await producer.send({ topic, acks: -1, messages: [push(9)] });
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_AGGREGATE_DUPLICATE', 30_000);
  expect(line).toMatchObject({ level: 30, points: 1, batch: true });
  const duplicates = async () => Number(/^prom_relay_points_rejected_total\{reason="duplicate"\} (\d+)$/m.exec(await (await fetch(`${relay.url}/metrics`)).text())?.[1] ?? 0);
  expect(await eventually(duplicates, (n) => n >= 1, 10_000)).toBe(1);
  expect(await stopRelay(relay)).toBe(0);
}, 90_000);
