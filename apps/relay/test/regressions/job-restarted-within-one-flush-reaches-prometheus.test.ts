// End to end, what job-restarted-within-one-flush-is-counted.test.ts guards in the stage: `DELETE /metrics/job/<job>`
// and the job's next run pushed right after it (within one flush interval) reach a real Prometheus as the new run's
// total, at the next flush. Before, the owner ended the series at that flush and dropped the new run's value: the job's
// series was gone from Prometheus until the source's next full publish (30 minutes). The relay as a process, real
// Kafka, a real Prometheus. (Should a flush fall between the two requests, the new run still shows: the end and the
// new run then take two flushes, the path that always worked.)
import { randomUUID } from 'node:crypto';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  // A flush every 4 s: the DELETE and the next PUT, a few ms apart, nearly always land in one interval.
  relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: prom.remoteWriteUrl, flushInterval: '4s' }));
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
}, 120_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

async function put(rows: number): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/nightly`, {
    method: 'PUT',
    headers: { 'prom-relay-producer': randomUUID() },
    body: `# TYPE etl_rows_total counter\netl_rows_total ${rows}\n`,
  });
  expect(res.status).toBe(200);
}

const value = async () => (await prom.query('etl_rows_total{job="nightly"}'))[0]?.value;

it("a job's next run pushed right after its DELETE shows its own total at the next flush", async () => {
  await put(10);
  expect(await eventually(value, (v) => v === 10, 20_000)).toBe(10);
  const res = await fetch(`${relay!.url}/metrics/job/nightly`, { method: 'DELETE' });
  expect(res.status).toBe(202);
  await put(4);
  // The new run counts from zero in the job's series: 4, within a few flushes (not gone for 30 minutes).
  expect(await eventually(value, (v) => v === 4, 15_000)).toBe(4);
}, 90_000);
