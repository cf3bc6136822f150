// Native histograms from the Go client's protobuf push, end to end (issue 11 item 4): the Go job of
// test/ingest/go-push/native (client_golang's push package, NativeHistogramBucketFactor 1.1) pushes from two machines
// into a running relay's Pushgateway API; Prometheus 3 receives the relay's output. `instance` is the producer label:
// the two pushes merge, as counters do, and a repeated push of the same cumulative registry adds nothing.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPrometheus3 } from '@prom-relay/infra';
import { expect, it } from 'vitest';
import { eventually, goProgramEnvironment } from './harness.js';

const run = promisify(execFile);
const GO_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), '../ingest/go-push');
/** The observations of test/ingest/go-push/native/main.go. */
const LOAD = [0, 0.0013, 0.0042, 0.0042, 0.031, 0.25, 0.25, 0.25, 1, 1.7, 2.5, 60, -0.3];
const SAVE = [0.005, 0.07, 0.07, 0.4, 3];

// The first run on a machine builds Prometheus 3 (minutes).
const go = goProgramEnvironment(GO_MODULE, { pkg: './native', receiver: startPrometheus3, timeoutMs: 900_000 });

async function one(promql: string): Promise<number> {
  const r = await go.prom.query(promql);
  return r.length === 1 ? r[0]!.value : NaN;
}

it("merges the Go client's native histograms pushed from two machines, exactly, on Prometheus 3", async () => {
  const { relay, program: goJob } = go;
  const push = (instance: string, pushes = 1) => run(goJob, [relay.url, 'go-native', instance, String(pushes)], { timeout: 30_000 });
  // host-1's process pushes its cumulative registry twice (the second adds nothing: nothing new observed). Another
  // process run would be a new producer, told apart by its metrics' created timestamps, and count again.
  await push('host-1', 2);
  await push('host-2');

  const load = 'go_job_latency_seconds{job="go-native",stage="load"}';
  expect(await eventually(() => one(`histogram_count(${load})`), (v) => v === 2 * LOAD.length, 30_000)).toBe(2 * LOAD.length);
  expect(await one(`histogram_sum(${load})`)).toBeCloseTo(2 * LOAD.reduce((a, b) => a + b, 0), 9);
  // Both machines observed the same: the merged distribution's quantiles are each machine's; the median of LOAD is
  // 0.25, in the schema-3 bucket (2^(-17/8), 2^(-16/8)].
  const median = await one(`histogram_quantile(0.5, ${load})`);
  expect(median).toBeGreaterThan(2 ** (-17 / 8));
  expect(median).toBeLessThanOrEqual(2 ** (-16 / 8));

  // Native and classic buckets: both merged.
  expect(await eventually(() => one('histogram_count(go_job_save_seconds{job="go-native"})'), (v) => v === 2 * SAVE.length, 30_000)).toBe(2 * SAVE.length);
  expect(await one('go_job_save_seconds_count{job="go-native"}')).toBe(2 * SAVE.length);
  expect(await one('go_job_save_seconds_bucket{job="go-native",le="0.1"}')).toBe(2 * SAVE.filter((v) => v <= 0.1).length);
  // No observations: an empty native histogram.
  expect(await eventually(() => one('histogram_count(go_job_idle_seconds{job="go-native"})'), (v) => v === 0, 30_000)).toBe(0);
  expect(await one('go_job_rows_total{job="go-native"}')).toBe(84);
}, 120_000);
