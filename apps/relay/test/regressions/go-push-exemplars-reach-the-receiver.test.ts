// Guards: exemplars a Go job sets with the Prometheus Go client (prometheus.ExemplarAdder on a counter,
// prometheus.ExemplarObserver on a classic and on a native histogram) and pushes with its push package (the protobuf
// delimited format) reach the receiver, as Remote Write ones do. Before, the relay skipped the exemplar fields of
// client_model's Counter, Bucket and Histogram and wrote such a push to Kafka as text exposition 0.0.4 (which has no
// exemplars): every one was lost, uncounted. Here the real Go job of test/ingest/go-push/exemplars pushes into a
// running relay's Pushgateway API, a Prometheus 3 with exemplar storage receives the relay's output, and
// `/api/v1/query_exemplars` there returns the exemplar of the counter's total, of each `_bucket` and of the native
// histogram: the latest after a second machine's push. One over the limits (a body the Go client would refuse to
// make: its label set over 128 characters) is dropped and counted as `kafka_metric_family`, the push applied without it.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPrometheus3 } from '@prom-relay/infra';
import protobuf from 'protobufjs';
import { expect, it } from 'vitest';
import { METRIC_FAMILY_CONTENT_TYPE } from '../../src/decode/metric-family.js';
import { eventually, goProgramEnvironment } from '../e2e/harness.js';
import { metricSum } from '../e2e/receivers.js';

const run = promisify(execFile);
const GO_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), '../ingest/go-push');

// Prometheus 3.16 keeps exemplars only with the feature flag. The first run on a machine builds Prometheus 3 (minutes).
const go = goProgramEnvironment(GO_MODULE, { pkg: './exemplars', receiver: () => startPrometheus3({ features: ['exemplar-storage'] }), timeoutMs: 900_000 });

interface StoredExemplar {
  trace: string | undefined;
  value: number;
  timestamp: number;
}

/** The exemplars the receiver stored for `selector` in the last 10 minutes, oldest first. */
async function stored(selector: string): Promise<StoredExemplar[]> {
  const end = Date.now() / 1000 + 60;
  const url = `${go.prom.url}/api/v1/query_exemplars?query=${encodeURIComponent(selector)}&start=${end - 660}&end=${end}`;
  const body = (await (await fetch(url)).json()) as { status: string; data: { exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[] };
  expect(body.status).toBe('success');
  const all = body.data.flatMap((s) => s.exemplars.map((e) => ({ trace: e.labels['trace_id'], value: Number(e.value), timestamp: e.timestamp })));
  return all.sort((a, b) => a.timestamp - b.timestamp);
}
const latest = async (selector: string) => (await stored(selector)).at(-1);

it("the Go client's exemplars (counter, classic bucket, native histogram) reach the receiver, the latest per output series", async () => {
  const { relay, program } = go;
  const push = async (instance: string, trace: string) => {
    const before = Date.now();
    await run(program, [relay.url, 'go-ex', instance, trace], { timeout: 30_000 });
    return [before, Date.now()] as const;
  };
  const [from, to] = await push('host-1', 'a');
  const rows = 'go_job_ex_rows_total{job="go-ex",table="users"}';
  const counter = await eventually(() => latest(rows), (e) => e !== undefined, 30_000);
  expect(counter).toMatchObject({ trace: 'a-rows', value: 5 });
  // Stamped by the Go client when it was set, to the millisecond (the format has nanoseconds).
  expect(counter!.timestamp * 1000).toBeGreaterThanOrEqual(from - 1);
  expect(counter!.timestamp * 1000).toBeLessThanOrEqual(to);
  const fast = 'go_job_ex_seconds_bucket{job="go-ex",le="0.1"}';
  const slow = 'go_job_ex_seconds_bucket{job="go-ex",le="1"}';
  const native = 'go_job_ex_native_seconds{job="go-ex"}';
  expect(await eventually(() => latest(fast), (e) => e !== undefined, 30_000)).toMatchObject({ trace: 'a-fast', value: 0.05 });
  expect(await eventually(() => latest(slow), (e) => e !== undefined, 30_000)).toMatchObject({ trace: 'a-slow', value: 0.5 });
  expect(await eventually(() => latest(native), (e) => e !== undefined, 30_000)).toMatchObject({ trace: 'a-native', value: 0.25 });
  expect(await go.prom.query('histogram_count(go_job_ex_native_seconds{job="go-ex"})')).toEqual([expect.objectContaining({ value: 1 })]);
  // The native histogram stays native alone: the +Inf bucket the Go client adds to carry its exemplar is no classic series.
  expect(await go.prom.query('{__name__=~"go_job_ex_native_seconds_(bucket|sum|count)"}')).toEqual([]);

  // A second machine: the totals merge, and each output series' exemplar is now the newer one.
  await push('host-2', 'b');
  expect(await eventually(() => go.prom.query(rows), (v) => v[0]?.value === 10, 30_000)).toEqual([expect.objectContaining({ value: 10 })]);
  expect(await eventually(() => latest(rows), (e) => e?.trace === 'b-rows', 30_000)).toMatchObject({ trace: 'b-rows', value: 5 });
  expect(await eventually(() => latest(fast), (e) => e?.trace === 'b-fast', 30_000)).toMatchObject({ value: 0.05 });
  expect(await eventually(() => latest(slow), (e) => e?.trace === 'b-slow', 30_000)).toMatchObject({ value: 0.5 });
  expect(await eventually(() => latest(native), (e) => e?.trace === 'b-native', 30_000)).toMatchObject({ value: 0.25 });
  expect((await stored(rows)).map((e) => e.trace)).toEqual(['a-rows', 'b-rows']);
  expect(await metricSum(relay.url, 'prom_relay_exemplars_dropped_total', 'path="kafka_metric_family"')).toBe(0);
}, 180_000);

// A hand-made body (the Go client refuses to make an exemplar over 128 characters): protobufjs, client_model's numbers.
const MetricFamily = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Exemplar: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, value: { type: 'double', id: 2 } } },
    Counter: { fields: { value: { type: 'double', id: 1 }, exemplar: { type: 'Exemplar', id: 2 } } },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, counter: { type: 'Counter', id: 3 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
}).lookupType('MetricFamily');

it('an exemplar over the limits in a protobuf push is dropped and counted (kafka_metric_family), the push applied without it', async () => {
  const { relay } = go;
  const dropped = () => metricSum(relay.url, 'prom_relay_exemplars_dropped_total', 'path="kafka_metric_family"');
  const before = await dropped();
  const exemplar = (trace: string) => ({ label: [{ name: 'trace_id', value: trace }], value: 1 });
  const family = {
    name: 'go_job_over_total',
    type: 0,
    metric: [
      { label: [{ name: 'table', value: 'a' }], counter: { value: 3, exemplar: exemplar('x'.repeat(121)) } },
      { label: [{ name: 'table', value: 'b' }], counter: { value: 4, exemplar: exemplar('fits') } },
    ],
  };
  const body = Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(family)).finish());
  const res = await fetch(`${relay.url}/metrics/job/go-over/instance/h1`, { method: 'PUT', headers: { 'content-type': METRIC_FAMILY_CONTENT_TYPE }, body });
  expect(res.status).toBe(200);
  expect(await eventually(() => go.prom.query('go_job_over_total{job="go-over"}'), (v) => v.length === 2, 30_000)).toHaveLength(2);
  expect(await eventually(() => latest('go_job_over_total{job="go-over",table="b"}'), (e) => e !== undefined, 30_000)).toMatchObject({ trace: 'fits', value: 1 });
  expect(await stored('go_job_over_total{job="go-over",table="a"}')).toEqual([]);
  expect(await eventually(dropped, (n) => n === before + 1, 10_000)).toBe(before + 1);
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'kafka_metric_family', 10_000);
  expect(line.exemplars).toBe(1);
}, 120_000);
