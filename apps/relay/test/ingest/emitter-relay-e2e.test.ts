// Short-lived jobs with @prom-relay/emitter into the running relay: Prometheus ends with exactly the totals over runs.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { createEmitter } from '@prom-relay/emitter';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger, orderViolations, settledTotals, startRelayProcess, stopRelay, writeRelayConfig, type RelayProcess } from '../e2e/harness.js';

let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
}, 60_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await prom?.stop();
});

it('six job runs on three machines, cumulative pushes and delta emits: the relay delivers the exact totals', async () => {
  const brokers = testKafkaBrokers();
  const topic = await createTestTopic({ prefix: 'emitter-e2e', partitions: 2 });
  relay = await startRelayProcess(
    writeRelayConfig({
      brokers,
      topic,
      groupId: testTopicName('relay'),
      dlqTopic: testTopicName('dlq'),
      checkpointTopic: testTopicName('ckpt'),
      remoteWriteUrl: prom.remoteWriteUrl,
    }),
  );
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
  const ledger = new Ledger();
  const rowsKey = 'e2e_rows_total|emitter-e2e|table=users';
  const deletedKey = 'e2e_deleted_total|emitter-e2e|';

  for (let run = 0; run < 6; run++) {
    // each run is a new process in real life: a new emitter, a new producer id, counters from zero
    const registry = new Registry();
    const rows = new Counter({ name: 'e2e_rows_total', help: 'Rows.', labelNames: ['table'], registers: [registry] });
    const emitter = createEmitter({ brokers, topic });
    const groupings = { instance: `host-${run % 3}` };
    rows.inc({ table: 'users' }, 5 + run);
    await emitter.push(registry, { job: 'emitter-e2e', groupings });
    rows.inc({ table: 'users' }, 7);
    await emitter.push(registry, { job: 'emitter-e2e', groupings });
    ledger.add(rowsKey, 12 + run);
    emitter.emit([{ name: 'e2e_deleted_total', type: 'counter', value: 2 }], { job: 'emitter-e2e', groupings, temporality: 'delta' });
    emitter.emit([{ name: 'e2e_deleted_total', type: 'counter', value: 3 }], { job: 'emitter-e2e', groupings, temporality: 'delta' });
    ledger.add(deletedKey, 5);
    expect(await emitter.close(10_000)).toEqual({ flushed: true, dropped: 0 });
  }

  const seen = await settledTotals(prom, ledger, 45_000);
  expect(seen.get(rowsKey)).toBe(6 * 12 + 15);
  expect(seen.get(deletedKey)).toBe(30);
  expect(await orderViolations(prom)).toEqual([]);
  expect(await stopRelay(relay)).toBe(0);
}, 150_000);
