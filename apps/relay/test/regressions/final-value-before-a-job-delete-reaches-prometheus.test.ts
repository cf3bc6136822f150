// End to end, what final-value-before-a-job-delete-is-written.test.ts guards in the stage: a job pushes, the relay
// flushes, the job pushes again and is deleted (`DELETE /metrics/job/<job>`) before the next flush. The last sample a
// real Prometheus stores of the job's series before its staleness marker is the job's final total (16), not the total of
// the last flush before the push (10): the end carries it to the series' owner. The relay as a process, real Kafka, a
// real Prometheus. (Should a flush fall between the push and the DELETE, 16 is published as a plain value: the same.)
// A job shorter than a flush (pushed and deleted before the relay's next flush) did not show at all; now it does.
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
  // A flush every 4 s: the PUT and the DELETE, a few ms apart, nearly always land in one interval.
  relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: prom.remoteWriteUrl, flushInterval: '4s' }));
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
}, 120_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

const producer = randomUUID();

async function put(rows: number, job = 'nightly'): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/${job}`, {
    method: 'PUT',
    headers: { 'prom-relay-producer': producer },
    body: `# TYPE etl_rows_total counter\netl_rows_total ${rows}\n`,
  });
  expect(res.status).toBe(200);
}

const SERIES = 'etl_rows_total{job="nightly"}';

it("the last sample of a deleted job's series is its final total", async () => {
  await put(10);
  expect(await eventually(async () => (await prom.query(SERIES))[0]?.value, (v) => v === 10, 20_000)).toBe(10);
  await put(16);
  const res = await fetch(`${relay!.url}/metrics/job/nightly`, { method: 'DELETE' });
  expect(res.status).toBe(202);
  // The series ends (its staleness marker hides it from instant queries)...
  expect(await eventually(async () => (await prom.query(SERIES)).length, (n) => n === 0, 20_000)).toBe(0);
  // ...and the last value stored before the marker is the final total.
  const [series] = await prom.querySeries(`${SERIES}[5m]`);
  expect(series?.samples.at(-1)?.value).toBe(16);
}, 90_000);

it('a job pushed and deleted within one flush shows its total, then ends', async () => {
  await put(7, 'brief');
  const res = await fetch(`${relay!.url}/metrics/job/brief`, { method: 'DELETE' });
  expect(res.status).toBe(202);
  const last = async () => (await prom.querySeries('etl_rows_total{job="brief"}[5m]'))[0]?.samples.at(-1)?.value;
  expect(await eventually(last, (v) => v === 7, 20_000)).toBe(7);
  expect(await eventually(async () => (await prom.query('etl_rows_total{job="brief"}')).length, (n) => n === 0, 20_000)).toBe(0);
}, 90_000);
