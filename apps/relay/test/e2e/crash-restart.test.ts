// The relay SIGKILLed in the middle of a stream and started again: totals exact, no output counter ever decreases.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
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

let prom: PrometheusServer;
const relays: RelayProcess[] = [];
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  [prom] = await Promise.all([startPrometheus(), connect()]);
}, 60_000);

afterAll(async () => {
  for (const r of relays) if (r.child.exitCode === null) r.kill('SIGKILL');
  await producer.disconnect();
  await prom?.stop();
});

it('keeps every total exact through a SIGKILL and a restart, and no counter ever goes down', async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
  });
  const first = await startRelayProcess(config);
  relays.push(first);
  const ledger = new Ledger();
  const fleet = runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['crash-a', 'crash-b', 'crash-c'],
    runs: 60,
    pushesPerRun: 6,
    overlap: 6,
    pauseMs: 80,
    ledger,
  });
  // Let it flush and checkpoint a few times, then kill it without any chance to clean up.
  await first.waitForLog((l) => l.msg === 'partition restored');
  await sleep(2500);
  first.kill('SIGKILL');
  await first.exited;
  await sleep(500);
  const second = await startRelayProcess(config);
  relays.push(second);
  await fleet;

  const seen = await settledTotals(prom, ledger, 45_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  // The restarted relay restored from checkpoints rather than starting empty.
  expect(second.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);
  expect(await stopRelay(second)).toBe(0);
}, 150_000);
