// The relay (a child process) against Prometheus 2.42, Prometheus 3.16 and VictoriaMetrics v1.151, with
// remote_write.protocol 1.0, 2.0 and auto: exact totals wherever the protocol can work. With auto, the 1.0-only
// receivers (which answer 204 to a 2.0 body and store nothing) cost exactly one fallback, and no batch is lost or
// stored twice: the samples each receiver says it stored equal the samples the relay counted as sent.
// (2.0 against a 1.0-only receiver is the regression test remote-write-2.0-to-1.0-receiver-is-not-silent.)
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  kafkaProducer,
  Ledger,
  orderViolations,
  runFleet,
  settledTotals,
  sleep,
  startRelayProcess,
  stopRelay,
  type RelayProcess,
  testRelayConfig,
} from './harness.js';
import { metricSum, RECEIVERS, startReceiver, type ReceiverName, type TestReceiver } from './receivers.js';

const { producer, connect } = kafkaProducer(testKafkaBrokers());
const receivers = new Map<ReceiverName, TestReceiver>();
const relays: RelayProcess[] = [];

beforeAll(async () => {
  // The first run on a machine builds Prometheus 3 and VictoriaMetrics (a few CPU-minutes; the root globalSetup
  // starts those builds when the run begins); later runs start them in a second.
  const started = await Promise.all([connect(), ...RECEIVERS.map((name) => startReceiver(name))]);
  for (const r of started.slice(1) as TestReceiver[]) receivers.set(r.name as ReceiverName, r);
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(relays.map((r) => stopRelay(r)));
  await producer.disconnect();
  await Promise.all([...receivers.values()].map((r) => r.stop()));
});

/** What the relay's /metrics says now. */
async function relayCounters(relay: RelayProcess): Promise<{ sent: number; failed: number; fallbacks: number }> {
  const [sent, failed, fallbacks] = await Promise.all([
    metricSum(relay.url, 'prom_relay_samples_sent_total'),
    metricSum(relay.url, 'prom_relay_samples_failed_total'),
    metricSum(relay.url, 'prom_relay_remote_write_fallbacks_total'),
  ]);
  return { sent, failed, fallbacks };
}

async function settledStored(receiver: TestReceiver): Promise<number> {
  let last = await receiver.stored();
  for (;;) {
    await sleep(1_500);
    const now = await receiver.stored();
    if (now === last) return now;
    last = now;
  }
}

/** One relay with `protocol` in front of `receiver`, fed by short-lived jobs; answers when the receiver is exact. */
async function relayInto(receiver: TestReceiver, protocol: '1.0' | '2.0' | 'auto') {
  // Settled: the previous relay's final flush may still be missing from VictoriaMetrics's (lagging) count.
  const storedBefore = await settledStored(receiver);
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: receiver.remoteWriteUrl,
    // Flushes 3 s apart leave quiet windows in which sent and stored can be compared.
    flushInterval: '3s',
    extra: { remote_write: { url: receiver.remoteWriteUrl, protocol, retry_max_elapsed: '2s', timeout: '2s' } },
  });
  const relay = await startRelayProcess(config);
  relays.push(relay);
  const ledger = new Ledger();
  const tag = `${receiver.name.replace(/\W+/g, '')}-${protocol.replace('.', '')}`;
  await runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: [`proto-${tag}-a`, `proto-${tag}-b`],
    runs: 6,
    pushesPerRun: 3,
    overlap: 3,
    pauseMs: 50,
    ledger,
  });
  const held = await settledTotals(receiver, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect({ receiver: receiver.name, protocol, key, value: held.get(key) }).toEqual({ receiver: receiver.name, protocol, key, value });
  // Between two flushes: what the receiver stored since this relay started is exactly what the relay counted sent.
  // (VictoriaMetrics's /metrics lags about a second: the receiver is read 1.2 s after the relay, before it again.)
  const quiet = await eventually(
    async () => {
      const before = await relayCounters(relay);
      await sleep(1_200);
      const stored = (await receiver.stored()) - storedBefore;
      const after = await relayCounters(relay);
      return { before, stored, after };
    },
    (q) => q.before.sent === q.after.sent && q.stored === q.after.sent,
    30_000,
    100,
  );
  expect({ receiver: receiver.name, protocol, stored: quiet.stored }).toEqual({ receiver: receiver.name, protocol, stored: quiet.after.sent });
  expect(quiet.after.sent).toBeGreaterThan(0);
  expect(quiet.after.failed).toBe(0);
  const ready = await fetch(`${relay.url}/readyz`);
  expect(ready.status).toBe(200);
  await stopRelay(relay);
  relays.splice(relays.indexOf(relay), 1);
  return { counters: quiet.after, relay };
}

describe('relay Remote Write against real receivers', () => {
  it.concurrent('Prometheus 2.42: 1.0 exact; auto exact after exactly one fallback (not_written)', async () => {
    const p = receivers.get('Prometheus 2.42')!;
    expect((await relayInto(p, '1.0')).counters.fallbacks).toBe(0);
    const auto = await relayInto(p, 'auto');
    expect(auto.counters.fallbacks).toBe(1);
    expect(auto.relay.logs.filter((l) => String(l.msg).includes('does not speak Remote Write 2.0'))).toHaveLength(1);
    expect(await orderViolations(p)).toEqual([]);
  }, 240_000);

  it.concurrent('Prometheus 3: 1.0, 2.0 and auto exact; auto stays on 2.0 (no fallback)', async () => {
    const p = receivers.get('Prometheus 3')!;
    for (const protocol of ['1.0', '2.0', 'auto'] as const) expect({ protocol, fallbacks: (await relayInto(p, protocol)).counters.fallbacks }).toEqual({ protocol, fallbacks: 0 });
    expect(await orderViolations(p)).toEqual([]);
  }, 300_000);

  it.concurrent('VictoriaMetrics: 1.0 exact; auto exact after exactly one fallback (not_written)', async () => {
    const vm = receivers.get('VictoriaMetrics')!;
    expect((await relayInto(vm, '1.0')).counters.fallbacks).toBe(0);
    const auto = await relayInto(vm, 'auto');
    expect(auto.counters.fallbacks).toBe(1);
    expect(await orderViolations(vm)).toEqual([]);
  }, 240_000);
});
