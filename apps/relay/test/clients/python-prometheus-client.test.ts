// Python's prometheus_client (PyPI prometheus-client, pinned) as batch jobs use it: push_to_gateway,
// pushadd_to_gateway and delete_from_gateway with basic_auth_handler against a relay's ingest with basic auth (real
// Kafka, real Prometheus). Two instances, two runs each, one run reporting progress mid-way, groups deleted at the end:
// the total is exactly the rows processed, the gauge ends with the deletes, a wrong password is refused.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { run } from '../flink/build.js';
import { ensurePythonClient, PYTHON } from './python-client.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'python', 'push_job.py');
const PASSWORD = 'py-pass-4d1e';

let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  await ensurePythonClient();
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'python', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { ingest: { credentials: [{ username: 'etl', password: PASSWORD }] } },
  });
  relay = await startRelayProcess(config);
}, 600_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await prom?.stop();
});

/** One run of the job: its own Python process. */
async function job(instance: string, rows: number, flags: string[] = [], password = PASSWORD) {
  // Python runs from the venv with the relay's address: the URL without a scheme, as many users write it.
  return run(PYTHON, [SCRIPT, relay!.url.replace(/^http:\/\//, ''), 'etl', password, instance, String(rows), ...flags], { timeoutMs: 60_000 });
}

const value = async (q: string) => (await prom.query(q))[0]?.value;

it('two instances × two runs sum exactly; deletes end the gauge and keep the total; a wrong password is refused', async () => {
  // Run 1 of both instances, at once: PUT (push_to_gateway); instance b reports progress (4 of 7) before its end.
  const first = await Promise.all([job('a', 3), job('b', 7, ['--progress', '4'])]);
  for (const r of first) expect(r.code, r.output).toBe(0);
  expect(await eventually(() => value('py_rows_processed_total{job="py_etl"}'), (v) => v === 10, 30_000)).toBe(10);
  expect(await value('py_last_success_unixtime{job="py_etl"}')).toBeGreaterThan(Date.now() / 1000 - 600);

  // Refused: nothing counted, the client raises with the 401.
  const refused = await job('a', 1000, [], 'wrong');
  expect(refused.code).not.toBe(0);
  expect(refused.output).toMatch(/401/);

  // Run 2: POST (pushadd_to_gateway), each run a new process (its process_start_time_seconds differs), then
  // delete_from_gateway of its group.
  const second = await Promise.all([job('a', 5, ['--pushadd', '--delete']), job('b', 11, ['--pushadd', '--progress', '6', '--delete'])]);
  for (const r of second) expect(r.code, r.output).toBe(0);
  expect(await eventually(() => value('py_rows_processed_total{job="py_etl"}'), (v) => v === 26, 30_000)).toBe(26);
  // Both groups deleted: the gauge ends; the total (3 + 7 + 5 + 11) stays.
  expect(await eventually(() => value('count(py_last_success_unixtime)'), (v) => v === undefined, 30_000)).toBeUndefined();
  await new Promise((r) => setTimeout(r, 1500));
  expect(await value('py_rows_processed_total{job="py_etl"}')).toBe(26);
  // One output series: instances are producers, not output labels.
  expect((await prom.query('count(py_rows_processed_total)'))[0]?.value).toBe(1);

  const metrics = await (await fetch(`${relay!.url}/metrics`)).text();
  expect(metrics).toMatch(/^prom_relay_ingest_requests_total\{api="pushgateway",status="401",code="PROM_RELAY_INGEST_UNAUTHORIZED"\} 1$/m);
  expect(await stopRelay(relay!)).toBe(0);
  expect(relay!.output()).not.toContain(PASSWORD);
}, 300_000);
