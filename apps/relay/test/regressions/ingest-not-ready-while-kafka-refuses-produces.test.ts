// "Where it stops progress, a failing /readyz": Kafka can answer metadata, the ingest topic there, while refusing every
// produce (here a topic whose message.timestamp.before.max.ms is 0: every record is refused as too old). Each push was answered 503 and counted, and /readyz
// answered 200 (Kafka connected, topic present): a load balancer kept sending pushes to an ingest that could only
// refuse them. Now /readyz answers 503 with a `produce` check naming the failure, until a produce succeeds (or 30 s
// after the last failure), and says when it is ready again. Real Kafka, `prom-relay ingest` as a process.
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import kafkajs from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, testRelayConfig, type RelayProcess } from '../e2e/harness.js';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
let relay: RelayProcess | undefined;

afterAll(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
});

it('answers /readyz 503 naming the produce failure while Kafka refuses every produce, and 200 once one succeeds', async () => {
  // Every record is older than the broker's clock by a few ms: refused (INVALID_TIMESTAMP), whatever it holds.
  const topic = await createTestTopic({ prefix: 'refusing', partitions: 1, config: { 'message.timestamp.before.max.ms': 0 } });
  const config = testRelayConfig({ topic, remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write', extra: { ingest: { workers: 1 } } });
  relay = await startRelayProcess(config, { role: 'ingest' });
  const readyz = async () => {
    const res = await fetch(`${relay!.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  expect(await eventually(readyz, (r) => r.status === 200, 15_000, 300)).toMatchObject({ body: { kafka: 'connected', ingest_topic: 'present', produce: 'ok' } });

  const push = () => fetch(`${relay!.url}/metrics/job/refused/instance/a`, { method: 'PUT', body: '# TYPE e2e_refused_total counter\ne2e_refused_total 1\n' });
  // A record stamped in the very millisecond the broker checks it is not older than its clock, and is taken (seen once
  // in CI): such a push is answered 200, as it must be. The next ones are refused.
  let refused = await push();
  for (let i = 0; i < 5 && refused.status === 200; i++) refused = await push();
  expect(refused.status).toBe(503);
  expect(await refused.text()).toContain('PROM_RELAY_INGEST_UNAVAILABLE');
  const notReady = await readyz();
  expect(notReady.status).toBe(503);
  expect(notReady.body).toMatchObject({ status: 'not ready', kafka: 'connected', ingest_topic: 'present', produce: expect.stringMatching(/^failing for \d+ s: /) as string });
  await relay.waitForLog((l) => l.msg === 'ingest not ready: Kafka does not acknowledge produces; /readyz answers 503', 5_000);

  // The operator mends the topic: the next push is taken, and the ingest is ready again.
  const kafka = new Kafka({ brokers: testKafkaBrokers(), clientId: 'refusing-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'message.timestamp.before.max.ms', value: '9223372036854775807' }] }] });
  await admin.disconnect();
  await eventually(async () => (await push()).status, (s) => s === 200, 60_000, 500);
  expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', kafka: 'connected', ingest_topic: 'present', produce: 'ok' } });
  await relay.waitForLog((l) => l.msg === 'ingest ready again: Kafka acknowledges produces', 5_000);
  expect(await stopRelay(relay)).toBe(0);
}, 150_000);
