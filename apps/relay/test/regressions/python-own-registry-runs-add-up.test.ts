// Python's prometheus_client as its README shows batch jobs pushing: a CollectorRegistry of their own, which holds no
// process_start_time_seconds, so the ingest could not tell runs apart and every push to a group continued one
// producer. Measured through a relay process into Prometheus 2.42 with the real client:
// - two copies of a job on two machines pushing to one group at once (no instance grouping key: the seed document's
//   warning) interleaved their cumulative values, each drop read as a reset: 100 x 6 steps and 1 x 6 made 2,100, not 606;
// - a run, its delete_from_gateway, then the next run: the next run counted only what it pushed above the last run's
//   value (5 then 7 made 7, not 12).
// The client writes `<name>_created` (the counter's creation time) right after each counter, histogram and summary:
// a push without process_start_time_seconds is now told apart by the earliest of them (`…/run=created=<seconds>`).
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { run } from '../flink/build.js';
import { PYTHON, PYTHON_SCRIPTS, ensurePythonClient } from '../clients/python-client.js';
import { processRunId } from '../../src/ingest/producer-id.js';

let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  await ensurePythonClient();
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'py-own', partitions: 2 });
  relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: prom.remoteWriteUrl }));
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
}, 600_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

/** One run of the job: its own Python process. */
async function job(name: string, step: number, steps: number, flags: string[] = []) {
  const r = await run(PYTHON, [join(PYTHON_SCRIPTS, 'own_registry_job.py'), relay!.url, name, String(step), String(steps), ...flags], { timeoutMs: 60_000 });
  expect(r.code, r.output).toBe(0);
}

const total = (job: string) => async () => (await prom.query(`own_rows_processed_total{job="${job}"}`))[0]?.value;

it.concurrent('two machines pushing one group at once sum exactly', async () => {
  await Promise.all([job('shared', 100, 6), job('shared', 1, 6)]);
  expect(await eventually(total('shared'), (v) => v === 606, 30_000)).toBe(606);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await total('shared')()).toBe(606);
}, 120_000);

it.concurrent('a run after the previous run deleted its group counts in full', async () => {
  await job('nightly', 5, 1, ['--instance', 'worker-1', '--delete']);
  expect(await eventually(total('nightly'), (v) => v === 5, 30_000)).toBe(5);
  await job('nightly', 7, 1, ['--instance', 'worker-1', '--delete']);
  expect(await eventually(total('nightly'), (v) => v === 12, 30_000)).toBe(12);
}, 120_000);

/** A body as prometheus_client writes it: the counter, then its `_created` gauge; `padding` gauges make it big. */
function pythonBody(rows: number, created: number, padding = 0): string {
  let body = `# HELP big_rows_total Rows\n# TYPE big_rows_total counter\nbig_rows_total{table="orders"} ${rows}.0\n`;
  body += `# HELP big_rows_created Rows\n# TYPE big_rows_created gauge\nbig_rows_created{table="orders"} ${created}\n`;
  if (padding > 0) body += '# HELP big_pad Padding\n# TYPE big_pad gauge\n';
  for (let i = 0; i < padding; i++) body += `big_pad{slot="${i}"} ${i}.0\n`;
  return body;
}

it.concurrent('a big push (checked in the worker thread) is told apart by its creation times too', async () => {
  for (const [rows, created] of [[5, 1796000000.25], [7, 1796000100.75]] as const) {
    const body = pythonBody(rows, created, 4000);
    expect(body.length).toBeGreaterThan(64 * 1024);
    const res = await fetch(`${relay!.url}/metrics/job/big/instance/worker-1`, { method: 'PUT', body, headers: { 'content-type': 'text/plain; version=0.0.4' } });
    expect(res.status).toBe(200);
  }
  const big = async () => (await prom.query('big_rows_total{job="big"}'))[0]?.value;
  expect(await eventually(big, (v) => v === 12, 30_000)).toBe(12);
}, 120_000);

it('only a creation time written right after its counter, histogram or summary, in Unix seconds, names a run', () => {
  const text = 'text/plain; version=0.0.4';
  const id = (body: string) => processRunId(Buffer.from(body), text);
  // The earliest of them, whatever family and child it belongs to.
  expect(id(pythonBody(1, 1796205812.5) + '# TYPE lat histogram\nlat_count 1.0\nlat_sum 0.5\n# TYPE lat_created gauge\nlat_created 1796205800.125\n')).toBe('created=1796205800.125');
  // process_start_time_seconds, where there is one, decides.
  expect(id(`# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1796000000\n${pythonBody(1, 1796205812.5)}`)).toBe('process_start=1796000000');
  // A gauge of the user's that ends in _created: alone, after an unrelated family, or not a time.
  expect(id('# TYPE orders_created gauge\norders_created 1796205812\n')).toBeUndefined();
  expect(id('# TYPE rows_total counter\nrows_total 1\n# TYPE orders_created gauge\norders_created 1796205812\n')).toBeUndefined();
  expect(id('# TYPE orders_total counter\norders_total 1\n# TYPE orders_created gauge\norders_created 42\n')).toBeUndefined();
  // Labels holding `}` or spaces are read past.
  expect(id('# TYPE x_total counter\nx_total{a="} x"} 1\n# TYPE x_created gauge\nx_created{a="} x"} 1796205812.5\n')).toBe('created=1796205812.5');
});
