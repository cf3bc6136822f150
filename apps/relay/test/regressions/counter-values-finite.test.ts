// Issue 10 item 4: a `+Inf` counter value (or values that overflow to +Inf) made a total `+Inf` forever. Counter-like
// inputs must be finite numbers from 0 to 1e300: the ingest answers 400 (counted under its code), a Kafka record
// carrying one is dead-lettered as PROM_RELAY_DECODE_VALUE, and the total in Prometheus stays what the good pushes make.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, kafkaProducer } from '../e2e/harness.js';
import { readUntil } from '../ingest/kafka-read.js';
import { TEXT, relayCounter, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let env: RelayWithProm;

beforeAll(async () => {
  env = await relayWithProm('finite');
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

it('non-finite, negative and huge counter inputs are refused on both paths; the total stays finite and exact', async () => {
  const { relay, prom, topic, dlqTopic } = env;
  const pushed = (body: string) => send(relay.url, 'PUT', '/metrics/job/finite/instance/h1', TEXT, body);

  // HTTP ingest: refused with a 400 naming the series and the value
  const inf = await pushed('# TYPE fin_rows_total counter\nfin_rows_total +Inf\n');
  expect(inf.status).toBe(400);
  expect(inf.text).toMatch(/^PROM_RELAY_INGEST_VALUE: counter series fin_rows_total\{instance="h1",job="finite"\} has value \+Inf \(not finite\)/);
  const huge = await pushed('# TYPE fin_rows_total counter\nfin_rows_total 1.5e308\n');
  expect(huge.status).toBe(400);
  expect(huge.text).toContain('above 1e+300');
  const bucket = await pushed('# TYPE fin_seconds histogram\nfin_seconds_bucket{le="+Inf"} NaN\nfin_seconds_sum 1\nfin_seconds_count 1\n');
  expect(bucket.status).toBe(400);
  expect(bucket.text).toMatch(/histogram series fin_seconds_bucket\{.*\} has value NaN/);
  // gauges take any value, as Prometheus does
  expect((await pushed('# TYPE fin_limit gauge\nfin_limit +Inf\n# TYPE fin_rows_total counter\nfin_rows_total 5\n')).status).toBe(200);
  expect(await relayCounter(relay.url, 'prom_relay_ingest_requests_total', { code: 'PROM_RELAY_INGEST_VALUE', status: '400' })).toBe(3);

  // Kafka path: a +Inf counter, and two deltas whose sum overflows a double (each refused: above 1e300)
  const { producer, connect } = kafkaProducer(testKafkaBrokers());
  await connect();
  try {
    const text = (v: string) =>
      buildMessage({ contentType: CONTENT_TYPE.text, job: 'finite', grouping: { instance: 'k1' }, producerId: randomUUID() }, Buffer.from(`# TYPE fin_rows_total counter\nfin_rows_total ${v}\n`));
    const delta = (v: number) =>
      buildMessage(
        { contentType: CONTENT_TYPE.ndjson, job: 'finite', grouping: { instance: 'k2' }, producerId: 'delta-producer', temporality: 'delta' },
        Buffer.from(`${JSON.stringify({ name: 'fin_rows_total', type: 'counter', value: v })}\n`),
      );
    await producer.send({ topic, messages: [text('+Inf'), delta(1e308), delta(1e308), text('7')] });
  } finally {
    await producer.disconnect();
  }

  // the good pushes make 5 (ingest, h1) + 7 (Kafka, k1); instance is a producer label: one output series
  const value = await eventually(
    async () => (await prom.query('fin_rows_total{job="finite"}'))[0]?.value,
    (v) => v === 12,
    45_000,
  );
  expect(value).toBe(12);
  const dead = await readUntil(testKafkaBrokers(), dlqTopic, (all) => all.length >= 3);
  expect(dead.map((m) => m.headers['prom-relay-dlq-reason'])).toEqual(['PROM_RELAY_DECODE_VALUE', 'PROM_RELAY_DECODE_VALUE', 'PROM_RELAY_DECODE_VALUE']);
  expect(dead[0]!.headers['prom-relay-dlq-error']).toContain('has value +Inf');
  expect(await relayCounter(relay.url, 'prom_relay_dead_letters_total', { reason: 'PROM_RELAY_DECODE_VALUE' })).toBe(3);
  // the gauge's +Inf is delivered as it came
  expect(await eventually(async () => (await prom.query('fin_limit'))[0]?.value, (v) => v === Infinity, 20_000)).toBe(Infinity);
  // and the total never was anything but finite
  const samples = await prom.querySeries('fin_rows_total[15m]');
  expect(samples.flatMap((s) => s.samples.map((x) => x.value)).every((v) => Number.isFinite(v))).toBe(true);
}, 150_000);
