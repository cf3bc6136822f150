// The Go client's push package with a registry of the job's own (`push.New(…).Collector(c)`: no process collector, so
// no process_start_time_seconds) was one producer per group whatever the process, as Python's own registries were
// (python-own-registry-runs-add-up): two copies of a job pushing one group at once read each other's cumulative values
// as resets (100 x 6 steps and 1 x 6 made 2,106 through a relay into Prometheus 2.42, not 606), and a run after the
// previous one on the same group counted only what it pushed above it (5 then 7 made 7). The Go client (1.23) writes each
// counter's, summary's and histogram's created_timestamp in the protobuf it pushes: the earliest of them now names the
// run (`…/run=created=<seconds>`), to the nanosecond: two copies started together create their metrics within one
// millisecond (both took one run id at millisecond precision in a CI run: 2,106 again).
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { expect, it } from 'vitest';
import { processRunId } from '../../src/ingest/producer-id.js';
import { eventually, goProgramEnvironment } from '../e2e/harness.js';

const run = promisify(execFile);
const go = goProgramEnvironment(resolve(dirname(fileURLToPath(import.meta.url)), 'go-own-registry'));

const job = (name: string, step: number, steps: number, instance?: string) =>
  run(go.program, [go.relay.url, name, String(step), String(steps), ...(instance !== undefined ? [instance] : [])], { timeout: 60_000 });
const total = (name: string) => async () => (await go.prom.query(`go_own_rows_total{job="${name}"}`))[0]?.value;

it.concurrent('two copies pushing one group at once sum exactly', async () => {
  await Promise.all([job('go-shared', 100, 6), job('go-shared', 1, 6)]);
  expect(await eventually(total('go-shared'), (v) => v === 606, 30_000)).toBe(606);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await total('go-shared')()).toBe(606);
}, 120_000);

it.concurrent('a run after the previous run of the same group counts in full', async () => {
  await job('go-nightly', 5, 1, 'worker-1');
  expect(await eventually(total('go-nightly'), (v) => v === 5, 30_000)).toBe(5);
  await job('go-nightly', 7, 1, 'worker-1');
  expect(await eventually(total('go-nightly'), (v) => v === 12, 30_000)).toBe(12);
}, 120_000);

it('two runs whose metrics were created within one millisecond are two runs (told apart to the nanosecond)', () => {
  // io.prometheus.client metrics.proto, what a counter's created_timestamp needs; protobufjs is the independent encoder.
  const MetricFamily = protobuf.Root.fromJSON({
    nested: {
      Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      Counter: { fields: { value: { type: 'double', id: 1 }, createdTimestamp: { type: 'Timestamp', id: 3 } } },
      Metric: { fields: { counter: { type: 'Counter', id: 3 } } },
      MetricFamily: { fields: { name: { type: 'string', id: 1 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
    },
  }).lookupType('MetricFamily');
  const body = (nanos: number) =>
    Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject({ name: 'go_own_rows_total', type: 0, metric: [{ counter: { value: 1, createdTimestamp: { seconds: 1796205812, nanos } } }] })).finish());
  const CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
  const first = processRunId(body(123_456_789), CONTENT_TYPE);
  expect(first).toBe('created=1796205812.123456789');
  expect(processRunId(body(123_456_999), CONTENT_TYPE)).not.toBe(first);
  expect(processRunId(body(123_456_789), CONTENT_TYPE)).toBe(first);
});
