// "Silence is a bug": an owner partition refusing partials because their output series is fed as another type from
// another source partition counted them (prom_relay_partials_received_total{result="conflict"}) and said nothing in
// the log, while a type conflict within one partition is logged (PROM_RELAY_AGGREGATE_TYPE_CONFLICT). Now a
// rate-limited warning names the owner partition and how many partials (PROM_RELAY_PARTIALS_CONFLICT). A delta push is
// applied where it lands (it needs no home), so a delta counter on one partition and the group's gauge of the same
// name on its home partition meet only at the owner. Real Kafka (2 partitions), the relay as a process.
import { randomUUID } from 'node:crypto';
import { buildMessage, buildMessageKey, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { homePartition } from '../../src/repartition/homes.js';
import { eventually, relayTestEnvironment, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

it('partials an owner refuses as another type are counted and logged, naming the code', async () => {
  const { producer } = env;
  const topic = await createTestTopic({ prefix: 'conflict', partitions: 2 });
  const relay = await env.startRelay(env.relayConfig({ topic }));
  const job = 'conflict-job';
  const grouping = { instance: 'h1' };
  const home = homePartition(buildMessageKey(job, grouping), 2);
  const text = (type: string, value: number) => Buffer.from(`# TYPE e2e_conflicting ${type}\ne2e_conflicting ${value}\n`);
  // The gauge at its home; then, a few flushes later, the delta counter of the same name on the other partition.
  const gauge = buildMessage({ contentType: CONTENT_TYPE.text, job, grouping, producerId: randomUUID(), sequence: 0 }, text('gauge', 5));
  await producer.send({ topic, acks: -1, messages: [{ ...gauge, partition: home }] });
  await relay.waitForLog((l) => l.msg === 'partition restored', 30_000);
  const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`${relay.url}/metrics`)).text())?.[1] ?? 0);
  await eventually(() => metric(/^prom_relay_partials_received_total\{result="applied"\} (\d+)$/m), (n) => n >= 1, 30_000);
  const delta = buildMessage({ contentType: CONTENT_TYPE.text, job, grouping, producerId: randomUUID(), sequence: 0, temporality: 'delta' }, text('counter', 3));
  await producer.send({ topic, acks: -1, messages: [{ ...delta, partition: 1 - home }] });

  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_PARTIALS_CONFLICT', 30_000);
  expect(line).toMatchObject({ level: 40, partials: expect.any(Number) as number, partition: expect.stringContaining('.partials/') as string });
  expect(await metric(/^prom_relay_partials_received_total\{result="conflict"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  // One flush after another republishes the refused partial: at most five lines in ten seconds per owner partition.
  const lines = relay.logs.filter((l) => l.code === 'PROM_RELAY_PARTIALS_CONFLICT');
  expect(lines.length).toBeLessThanOrEqual(5 * new Set(lines.map((l) => l.partition)).size);
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
