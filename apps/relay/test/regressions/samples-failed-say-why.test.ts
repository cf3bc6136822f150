// Guards the audit's gap on the flush: prom_relay_samples_failed_total had no label, so a receiver refusing the samples
// for good (a 4xx: a wrong remote_write.url, bad series; sent again they are refused again) and a receiver that is
// down (5xx, network: retried until the retries ran out) read the same. Now it carries `reason`: `refused` and
// `retries_exhausted` (and `error`, a write that threw). Both faults are a real Prometheus's: a path it does not serve
// (404), and no Prometheus at all (connection refused).
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, jobPush, kafkaProducer, Ledger, newRun, startRelayProcess, stopRelay, testRelayConfig, type RelayProcess } from '../e2e/harness.js';
import { relayCounter } from './ingest-helpers.js';

const { producer, connect } = kafkaProducer(testKafkaBrokers());
let prom: PrometheusServer;
const relays: RelayProcess[] = [];

beforeAll(async () => {
  [prom] = await Promise.all([startPrometheus(), connect()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(relays.map((r) => stopRelay(r)));
  await producer.disconnect();
  await prom?.stop();
});

/** A relay writing to `remoteWriteUrl`, fed one push; answers once some samples failed, with the counter's values by reason. */
async function failedByReason(remoteWriteUrl: string, job: string): Promise<{ relay: RelayProcess; refused: number; exhausted: number }> {
  const topic = await createTestTopic({ prefix: 'failed-why', partitions: 1 });
  const relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl }));
  relays.push(relay);
  await producer.send({ topic, acks: -1, messages: [jobPush(newRun(job), { users: 3, orders: 4 }, new Ledger(), 1)] });
  const failed = (reason: string) => relayCounter(relay.url, 'prom_relay_samples_failed_total', { reason });
  await eventually(async () => (await failed('refused')) + (await failed('retries_exhausted')), (n) => n > 0, 60_000);
  const ready = await fetch(`${relay.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ last_flush: 'failure' });
  return { relay, refused: await failed('refused'), exhausted: await failed('retries_exhausted') };
}

it('counts samples a receiver refused with a 4xx as reason="refused"', async () => {
  const { relay, refused, exhausted } = await failedByReason(`${prom.url}/api/v1/no-such-write`, 'failed-refused');
  expect(refused).toBeGreaterThan(0);
  expect(exhausted).toBe(0);
  expect(await relayCounter(relay.url, 'prom_relay_samples_failed_total', { reason: 'error' })).toBe(0);
  expect(await relay.waitForLog((l) => l.msg === 'remote write incomplete; the next flush carries the totals')).toMatchObject({ status: 'failure' });
}, 120_000);

it('counts samples no receiver answered until the retries ran out as reason="retries_exhausted"', async () => {
  // Port 9 (discard) has no listener on the test machines: every attempt is refused, retried until retry_max_elapsed (2 s).
  const { relay, refused, exhausted } = await failedByReason('http://127.0.0.1:9/api/v1/write', 'failed-exhausted');
  expect(exhausted).toBeGreaterThan(0);
  expect(refused).toBe(0);
  expect(await relay.waitForLog((l) => l.msg === 'remote write incomplete; the next flush carries the totals')).toMatchObject({ status: 'retryable' });
}, 120_000);
