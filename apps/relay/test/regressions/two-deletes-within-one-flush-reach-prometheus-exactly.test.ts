// End to end, what two-deletes-within-one-flush-count-both-runs guards, with the relay as a process, real Kafka and a
// real Prometheus (a flush every 4 s): a job's run pushes and is deleted, and its next run pushes and is deleted, a few
// ms apart. Before, the second run's total never reached Prometheus: the series went 10, 16, then its staleness marker
// (what the job counted, as Prometheus reads the samples: 16 of 20). Should a flush fall between the requests, the case
// still holds, by paths that always worked (the runs are then written one after the other, a counter reset between).
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
  relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: prom.remoteWriteUrl, flushInterval: '4s' }));
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
}, 120_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

async function request(method: 'PUT' | 'DELETE', job: string, body?: { rows: number; producer: string }): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/${job}`, {
    method,
    ...(body ? { headers: { 'prom-relay-producer': body.producer }, body: `# TYPE etl_rows_total counter\netl_rows_total ${body.rows}\n` } : {}),
  });
  if (res.status !== (method === 'PUT' ? 200 : 202)) throw new Error(`${method} /metrics/job/${job}: ${res.status} ${await res.text()}`);
}

const shown = async (job: string) => (await prom.query(`etl_rows_total{job="${job}"}`)).length;
const stored = async (job: string) => (await prom.querySeries(`etl_rows_total{job="${job}"}[5m]`)).flatMap((s) => s.samples.map((x) => x.value));

/** What a counter's samples say was counted, as increase() reads them from the first: a drop is a reset. */
function counted(values: number[]): number {
  let n = values[0] ?? 0;
  for (let i = 1; i < values.length; i++) n += values[i]! >= values[i - 1]! ? values[i]! - values[i - 1]! : values[i]!;
  return n;
}

it("two DELETEs of a job within one flush: Prometheus's samples count both runs, then the series ends", async () => {
  const run1 = randomUUID();
  await request('PUT', 'twice', { rows: 10, producer: run1 });
  expect(await eventually(async () => (await prom.query('etl_rows_total{job="twice"}'))[0]?.value, (v) => v === 10, 20_000)).toBe(10);
  await request('PUT', 'twice', { rows: 16, producer: run1 });
  await request('DELETE', 'twice');
  await request('PUT', 'twice', { rows: 4, producer: randomUUID() });
  await request('DELETE', 'twice');
  expect(await eventually(() => shown('twice'), (n) => n === 0, 20_000)).toBe(0);
  const values = await stored('twice');
  expect(counted(values), `stored samples ${JSON.stringify(values)}`).toBe(16 + 4);
}, 90_000);
