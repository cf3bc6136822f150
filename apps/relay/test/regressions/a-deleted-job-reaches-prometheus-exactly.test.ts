// End to end, what the stage's regression tests guard for a whole-job delete (`DELETE /metrics/job/<job>`), with the
// relay as a process, real Kafka and a real Prometheus, a flush every 4 s (two requests a few ms apart nearly always
// land in one interval; should a flush fall between them, each case still holds, by the path that always worked):
// - final-value-before-a-job-delete-is-written: the last sample Prometheus stores of a deleted job's series before its
//   staleness marker is the job's final total (16), not the last flush's (10); a job shorter than a flush (pushed and
//   deleted before the next flush) shows its total, then ends (before: nothing was written);
// - job-restarted-within-one-flush-is-counted: the job's next run pushed right after the DELETE shows its own total at
//   the next flushes (before: the series was gone from Prometheus until the source's next full publish, 30 minutes);
// - two-deletes-within-one-flush-count-both-runs: a run pushes and is deleted, the next run pushes and is deleted, a
//   few ms apart: Prometheus's samples count both runs, then the series ends (before: 10, 16, then the marker: 16 of
//   the 20 counted).
import { randomUUID } from 'node:crypto';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, it } from 'vitest';
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

/** A push of the job's run `producer` (a run's process: one id per run). */
async function put(job: string, rows: number, producer: string): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/${job}`, {
    method: 'PUT',
    headers: { 'prom-relay-producer': producer },
    body: `# TYPE etl_rows_total counter\netl_rows_total ${rows}\n`,
  });
  if (res.status !== 200) throw new Error(`PUT /metrics/job/${job}: ${res.status} ${await res.text()}`);
}

async function remove(job: string): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/${job}`, { method: 'DELETE' });
  if (res.status !== 202) throw new Error(`DELETE /metrics/job/${job}: ${res.status} ${await res.text()}`);
}

const now = async (job: string) => (await prom.query(`etl_rows_total{job="${job}"}`))[0]?.value;
const shown = async (job: string) => (await prom.query(`etl_rows_total{job="${job}"}`)).length;
const lastStored = async (job: string) => (await prom.querySeries(`etl_rows_total{job="${job}"}[5m]`))[0]?.samples.at(-1)?.value;
const stored = async (job: string) => (await prom.querySeries(`etl_rows_total{job="${job}"}[5m]`)).flatMap((s) => s.samples.map((x) => x.value));

/** What a counter's samples say was counted, as increase() reads them from the first: a drop is a reset. */
function counted(values: number[]): number {
  let n = values[0] ?? 0;
  for (let i = 1; i < values.length; i++) n += values[i]! >= values[i - 1]! ? values[i]! - values[i - 1]! : values[i]!;
  return n;
}

// The cases use jobs of their own: they run at once (each waits for flushes and staleness markers).
it.concurrent("the last sample of a deleted job's series is its final total", async ({ expect }) => {
  const run = randomUUID();
  await put('nightly', 10, run);
  expect(await eventually(() => now('nightly'), (v) => v === 10, 20_000)).toBe(10);
  await put('nightly', 16, run);
  await remove('nightly');
  // The series ends (its staleness marker hides it from instant queries), and the last value stored before the
  // marker is the final total.
  expect(await eventually(() => shown('nightly'), (n) => n === 0, 20_000)).toBe(0);
  expect(await lastStored('nightly')).toBe(16);
}, 90_000);

it.concurrent('a job pushed and deleted within one flush shows its total, then ends', async ({ expect }) => {
  await put('brief', 7, randomUUID());
  await remove('brief');
  expect(await eventually(() => lastStored('brief'), (v) => v === 7, 20_000)).toBe(7);
  expect(await eventually(() => shown('brief'), (n) => n === 0, 20_000)).toBe(0);
}, 90_000);

it.concurrent("a job's next run pushed right after its DELETE shows its own total", async ({ expect }) => {
  await put('rerun', 10, randomUUID());
  expect(await eventually(() => now('rerun'), (v) => v === 10, 20_000)).toBe(10);
  await remove('rerun');
  await put('rerun', 4, randomUUID());
  // The new run counts from zero in the job's series: 4, within a few flushes (not gone for 30 minutes).
  expect(await eventually(() => now('rerun'), (v) => v === 4, 15_000)).toBe(4);
}, 90_000);

it.concurrent("two DELETEs of a job within one flush: Prometheus's samples count both runs, then the series ends", async ({ expect }) => {
  const run1 = randomUUID();
  await put('twice', 10, run1);
  expect(await eventually(() => now('twice'), (v) => v === 10, 20_000)).toBe(10);
  await put('twice', 16, run1);
  await remove('twice');
  await put('twice', 4, randomUUID());
  await remove('twice');
  expect(await eventually(() => shown('twice'), (n) => n === 0, 20_000)).toBe(0);
  const values = await stored('twice');
  expect(counted(values), `stored samples ${JSON.stringify(values)}`).toBe(16 + 4);
}, 90_000);
