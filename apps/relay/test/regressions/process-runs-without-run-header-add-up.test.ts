// Guards issue 12 item 2: a cron job that pushes with the Prometheus Go client's push package and its default registry,
// without a run header, on one grouping key. Each process run is a new producer (told apart by the
// process_start_time_seconds its default registry writes), so three runs pushing 3, 5 and 2 give 10 in Prometheus.
// Before, the runs were read as one producer continuing its counter: 3, then 5 (+2), then a reset (+2): 7.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

const run = promisify(execFile);
const GO_JOB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'go-default-registry');

let prom: PrometheusServer;
let relay: RelayProcess | undefined;
let goJob: string;

beforeAll(async () => {
  goJob = join(mkdtempSync(join(tmpdir(), 'go-default-registry-')), 'go-default-registry');
  const build = run('go', ['build', '-buildvcs=false', '-o', goJob, '.'], { cwd: GO_JOB_DIR, timeout: 240_000 }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'the Go toolchain (go) is not on PATH: it builds the Go push client this test runs' : `go build failed: ${err.message}`);
  });
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
  });
  [relay] = await Promise.all([startRelayProcess(config), build]);
}, 300_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

it('three runs of a Go job (default registry, no run header, one grouping key) pushing 3, 5 and 2 give 10', async () => {
  const total = async () => (await prom.query('go_cron_rows_total{job="go-cron"}'))[0]?.value;
  const expected = [3, 8, 10];
  for (const [i, value] of [3, 5, 2].entries()) {
    await run(goJob, [relay!.url, 'go-cron', 'host-1', String(value)], { timeout: 30_000 });
    // Each run lands before the next starts, as with a cron schedule.
    expect(await eventually(total, (v) => v === expected[i], 20_000)).toBe(expected[i]);
  }
  const series = await prom.query('go_cron_rows_total');
  expect(series).toHaveLength(1);
  expect(series[0]!.labels).toMatchObject({ job: 'go-cron' });
  // The default registry's own process_start_time_seconds reached Prometheus too, as a gauge (the last run's).
  expect((await prom.query('process_start_time_seconds{job="go-cron"}'))[0]?.value).toBeGreaterThan(1e9);
}, 90_000);
