// Guards issue 12 item 2: a cron job that pushes with the Prometheus Go client's push package and its default registry,
// without a run header, on one grouping key. Each process run is a new producer (told apart by the
// process_start_time_seconds its default registry writes), so three runs pushing 3, 5 and 2 give 10 in Prometheus.
// Before, the runs were read as one producer continuing its counter: 3, then 5 (+2), then a reset (+2): 7.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { eventually, goProgramEnvironment } from '../e2e/harness.js';

const run = promisify(execFile);
const GO_JOB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'go-default-registry');

const go = goProgramEnvironment(GO_JOB_DIR);

it('three runs of a Go job (default registry, no run header, one grouping key) pushing 3, 5 and 2 give 10', async () => {
  const { prom, relay, program: goJob } = go;
  const total = async () => (await prom.query('go_cron_rows_total{job="go-cron"}'))[0]?.value;
  const expected = [3, 8, 10];
  for (const [i, value] of [3, 5, 2].entries()) {
    await run(goJob, [relay.url, 'go-cron', 'host-1', String(value)], { timeout: 30_000 });
    // Each run lands before the next starts, as with a cron schedule.
    expect(await eventually(total, (v) => v === expected[i], 20_000)).toBe(expected[i]);
  }
  const series = await prom.query('go_cron_rows_total');
  expect(series).toHaveLength(1);
  expect(series[0]!.labels).toMatchObject({ job: 'go-cron' });
  // The default registry's own process_start_time_seconds reached Prometheus too, as a gauge (the last run's).
  expect((await prom.query('process_start_time_seconds{job="go-cron"}'))[0]?.value).toBeGreaterThan(1e9);
}, 90_000);
