// Pushgateway clients pointed at the running relay: what the relay delivers to Prometheus is the sum over machines.
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { PushgatewayClient } from '@prom-relay/push-client';
import { Counter, Pushgateway, Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger, orderViolations, settledTotals, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

const USER = 'jobs';
const PASSWORD = 'pw-jobs';
let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
}, 60_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await prom?.stop();
});

function machine(): { registry: Registry; rows: Counter } {
  const registry = new Registry();
  const rows = new Counter({ name: 'e2e_rows_total', help: 'Rows.', labelNames: ['table'], registers: [registry] });
  return { registry, rows };
}

it("prom-client's Pushgateway and our PushgatewayClient: the relay's output counters are the totals over machines", async () => {
  const topic = await createTestTopic({ prefix: 'ingest-e2e', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { ingest: { username: USER, password: PASSWORD } },
  });
  relay = await startRelayProcess(config);
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
  const ledger = new Ledger();
  const key = 'e2e_rows_total|ingest-e2e|table=users';

  // machine 1 (prom-client): pushes its running total twice; only the increase counts the second time
  const m1 = machine();
  const gw1 = new Pushgateway(relay.url, { auth: `${USER}:${PASSWORD}`, timeout: 10_000 }, m1.registry);
  m1.rows.inc({ table: 'users' }, 10);
  await gw1.push({ jobName: 'ingest-e2e', groupings: { instance: 'host-1' } });
  m1.rows.inc({ table: 'users' }, 15);
  await gw1.push({ jobName: 'ingest-e2e', groupings: { instance: 'host-1' } });
  ledger.add(key, 25);

  // machine 2 (prom-client): pushes, then deletes its group: the counter total it contributed stays
  const m2 = machine();
  const gw2 = new Pushgateway(relay.url, { auth: `${USER}:${PASSWORD}`, timeout: 10_000 }, m2.registry);
  m2.rows.inc({ table: 'users' }, 7);
  await gw2.pushAdd({ jobName: 'ingest-e2e', groupings: { instance: 'host-2' } });
  await gw2.delete({ jobName: 'ingest-e2e', groupings: { instance: 'host-2' } });
  ledger.add(key, 7);

  // machine 3 (our client, an instance value that needs @base64)
  const m3 = machine();
  m3.rows.inc({ table: 'users' }, 100);
  const client = new PushgatewayClient(relay.url, 'ingest-e2e').grouping('instance', 'pod/3').collector(m3.registry).basicAuth(USER, PASSWORD);
  expect((await client.push()).status).toBe('success');
  client.close();
  ledger.add(key, 100);

  // the Pushgateway would hold three series that overwrite per machine; the relay holds one total
  const seen = await settledTotals(prom, ledger, 45_000);
  expect(seen.get(key)).toBe(132);
  const series = await prom.query('e2e_rows_total');
  expect(series).toHaveLength(1);
  expect(series[0]!.labels).not.toHaveProperty('instance');
  expect(await orderViolations(prom)).toEqual([]);
  expect(await stopRelay(relay)).toBe(0);
}, 150_000);
