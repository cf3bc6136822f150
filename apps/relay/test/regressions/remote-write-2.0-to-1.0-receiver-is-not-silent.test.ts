// Guards issue 11 item 2: with `remote_write.protocol: "2.0"` in front of a 1.0-only receiver, Prometheus 2.42 and
// VictoriaMetrics v1.151 answer 204 to every request (they read the 2.0 body as an empty 1.0 request) and store
// nothing; the relay counted every sample as sent and /readyz stayed 200. Now the 204 without
// X-Prometheus-Remote-Write-Samples-Written counts the samples failed, fails the flush (/readyz 503) and says why.
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, jobPush, kafkaProducer, Ledger, newRun, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { metricSum, startReceiver, type ReceiverName, type TestReceiver } from '../e2e/receivers.js';

const { producer, connect } = kafkaProducer(testKafkaBrokers());
const receivers = new Map<ReceiverName, TestReceiver>();
const relays: RelayProcess[] = [];

beforeAll(async () => {
  // VictoriaMetrics is built once per machine (minutes, started by the root globalSetup).
  const [, p2, vm] = await Promise.all([connect(), startReceiver('Prometheus 2.42'), startReceiver('VictoriaMetrics')]);
  receivers.set('Prometheus 2.42', p2);
  receivers.set('VictoriaMetrics', vm);
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(relays.map((r) => stopRelay(r)));
  await producer.disconnect();
  await Promise.all([...receivers.values()].map((r) => r.stop()));
});

describe.each(['Prometheus 2.42', 'VictoriaMetrics'] as const)('protocol 2.0 in front of %s', (name) => {
  it('counts the samples failed (never sent), fails /readyz and logs why; the receiver holds nothing', async () => {
    const receiver = receivers.get(name)!;
    const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
    const config = testRelayConfig({
      topic,
      remoteWriteUrl: receiver.remoteWriteUrl,
      extra: { remote_write: { url: receiver.remoteWriteUrl, protocol: '2.0', retry_max_elapsed: '2s', timeout: '2s' } },
    });
    const relay = await startRelayProcess(config);
    relays.push(relay);
    const job = `silent-${name.replace(/\W+/g, '').toLowerCase()}`;
    await producer.send({ topic, acks: -1, messages: [jobPush(newRun(job), { users: 3, orders: 4 }, new Ledger(), 1)] });

    const failed = await eventually(() => metricSum(relay.url, 'prom_relay_samples_failed_total'), (n) => n > 0, 30_000);
    expect(failed).toBeGreaterThan(0);
    expect(await metricSum(relay.url, 'prom_relay_samples_sent_total')).toBe(0);
    expect(await metricSum(relay.url, 'prom_relay_flushes_total', 'result="failure"')).toBeGreaterThan(0);
    const ready = await fetch(`${relay.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ last_flush: 'failure' });
    const why = await relay.waitForLog((l) => JSON.stringify(l).includes('PROM_RELAY_PUSH_NOT_WRITTEN'), 10_000);
    expect(JSON.stringify(why)).toMatch(/without X-Prometheus-Remote-Write-Samples-Written/);
    // Nothing was stored, as the counters now say.
    expect(await receiver.query(`{job="${job}"}`)).toEqual([]);
    expect(await metricSum(relay.url, 'prom_relay_remote_write_fallbacks_total')).toBe(0);
    await stopRelay(relay);
    relays.splice(relays.indexOf(relay), 1);
  }, 120_000);
});
