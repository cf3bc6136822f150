// Issue 10 item 4: a histogram family with only `_sum` and `_count` vanished silently. Prometheus takes such a histogram
// (a client may expose no buckets); the relay applies its _sum and _count as counters, from a Pushgateway push (text)
// and from a JSON line without "buckets", and a Prometheus behind it holds the totals over producers.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, kafkaProducer } from '../e2e/harness.js';
import { TEXT, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let env: RelayWithProm;

beforeAll(async () => {
  env = await relayWithProm('sumcount');
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

it('_sum and _count of a bucketless histogram are applied: text through the ingest, JSON lines through Kafka', async () => {
  const { relay, prom, topic } = env;
  const text = '# HELP sc_seconds Step time.\n# TYPE sc_seconds histogram\nsc_seconds_sum 2.5\nsc_seconds_count 4\n';
  expect((await send(relay.url, 'PUT', '/metrics/job/sumcount/instance/a', TEXT, text)).status).toBe(200);

  const { producer, connect } = kafkaProducer(testKafkaBrokers());
  await connect();
  try {
    const line = JSON.stringify({ name: 'sc_seconds', type: 'histogram', sum: 1.5, count: 2 });
    await producer.send({
      topic,
      messages: [buildMessage({ contentType: CONTENT_TYPE.ndjson, job: 'sumcount', grouping: { instance: 'b' }, producerId: randomUUID() }, Buffer.from(`${line}\n`))],
    });
  } finally {
    await producer.disconnect();
  }

  const totals = await eventually(
    async () => new Map((await prom.query('{__name__=~"sc_seconds.*",job="sumcount"}')).map((s) => [s.labels['__name__']!, s.value])),
    (m) => m.get('sc_seconds_sum') === 4 && m.get('sc_seconds_count') === 6,
    45_000,
  );
  expect(Object.fromEntries(totals)).toEqual({ sc_seconds_sum: 4, sc_seconds_count: 6 });
}, 90_000);
