// Guards the forwarding of pushes to their home partition (repartition/homes.ts): pushes a client's partitioner put on
// another partition are forwarded together, and Kafka takes at most the topic's max.message.bytes per partition in one
// produce request. Forwarded as one request, twelve pushes of 40 KB each on a topic of 150 KB were refused for their
// size for ever: the partition stalled (an error line every few seconds, nothing counted, /readyz ready) and none of
// their totals reached Prometheus. Real Kafka, a real Prometheus, the relay as a process.
import { randomUUID } from 'node:crypto';
import { buildMessage, buildMessageKey, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { homePartition } from '../../src/repartition/homes.js';
import { Ledger, relayTestEnvironment, settledTotals, seriesKey, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

const TOPIC_MAX_BYTES = 150_000;
const PUSHES = 12;

/** A text push of `value` for one counter, padded with comment lines to about 40 KB (comments are not metrics). */
function paddedPush(value: number): Buffer {
  const padding = Array.from({ length: 400 }, (_, i) => `# padding line ${i} ${'x'.repeat(80)}`);
  return Buffer.from(['# TYPE e2e_forwarded_rows_total counter', ...padding, `e2e_forwarded_rows_total{table="t"} ${value}`, ''].join('\n'));
}

it('forwards many large pushes landed off their home partition in requests the topic takes: every total arrives', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2, config: { 'max.message.bytes': TOPIC_MAX_BYTES } });
  // Without the ingest the relay leaves the input topic's max.message.bytes as it is.
  const config = env.relayConfig({ topic, extra: { ingest: { enabled: false }, aggregation: { series_ttl: '10m' } } });
  const job = 'forwarded-job';
  const grouping = { instance: 'h1' };
  const away = 1 - homePartition(buildMessageKey(job, grouping), 2);

  // Written before the relay starts, so its first fetch holds them all: one forward of twelve.
  const ledger = new Ledger();
  for (let run = 0; run < PUSHES; run++) {
    const value = run + 1;
    const msg = buildMessage({ contentType: CONTENT_TYPE.text, job, grouping, producerId: randomUUID(), sequence: 0 }, paddedPush(value));
    expect(msg.value.length).toBeGreaterThan(35_000);
    await producer.send({ topic, acks: -1, messages: [{ ...msg, partition: away }] });
    ledger.add(seriesKey({ __name__: 'e2e_forwarded_rows_total', job, table: 't' }), value);
  }
  expect(PUSHES * 35_000).toBeGreaterThan(TOPIC_MAX_BYTES);

  const relay = await env.startRelay(config);
  const seen = await settledTotals(prom, ledger, 60_000);
  for (const [k, value] of ledger.expected) expect({ k, value: seen.get(k) }).toEqual({ k, value });
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  expect(metrics).toContain(`prom_relay_pushes_forwarded_total{topic="${topic}"} ${PUSHES}`);
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
