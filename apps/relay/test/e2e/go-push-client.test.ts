// A Go job using the Prometheus Go client's push package, unchanged, pointed at a running relay's ingest.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { eventually, goProgramEnvironment } from './harness.js';

const run = promisify(execFile);
const GO_JOB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../ingest/go-push');

const go = goProgramEnvironment(GO_JOB_DIR);

it("takes pushes from the Go client's push package (protobuf delimited) and sums job runs exactly", async () => {
  const { prom, relay, program: goJob } = go;
  const push = (instance: string, value: number, runId: string) => run(goJob, [relay.url, 'go-nightly', instance, String(value), runId], { timeout: 30_000 });
  // Three cron runs on two machines, each run's counter starting at zero: every run counts in full (by the run id
  // header; without it, by the counters' created timestamps: go-own-registry-runs-add-up).
  await push('host-1', 5, 'run-1');
  await push('host-2', 4, 'run-2');
  await push('host-1', 7, 'run-3');
  const total = async () => (await prom.query('go_job_rows_total{job="go-nightly"}'))[0]?.value;
  expect(await eventually(total, (v) => v === 16, 20_000)).toBe(16);
  const series = await prom.query('go_job_rows_total');
  expect(series).toHaveLength(1);
  expect(series[0]!.labels).toMatchObject({ job: 'go-nightly', table: 'users' });
}, 60_000);
