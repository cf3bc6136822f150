// Guards issue 11 item 5: exemplars are carried to the output, the latest per output series, within the spec's limits.
// Before, the relay dropped every exemplar (counted in prom_relay_exemplars_dropped_total, Exemplars-Written: 0): a
// Prometheus 3 sender's exemplars never reached the store. Now a real Prometheus 3 sender (an OpenMetrics target
// with exemplars on a counter and a histogram bucket, `send_exemplars: true`, RW 2.0) writes into the ingest, the relay
// writes to a Prometheus 3 receiver with exemplar storage, and `/api/v1/query_exemplars` there returns the latest
// exemplar the target served; the sender counts none failed. Exemplars over the limits (label names and values more
// than 128 UTF-8 characters) are dropped and counted, never counted as written: at the ingest (its Exemplars-Written
// says how many it kept) and in Remote Write messages on Kafka. A relay writing Remote Write 1.0 carries them too,
// native histogram series included.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compress, encodeWriteRequest, encodeWriteRequestV2, type Exemplar, type WriteRequest } from '@prom-relay/codec';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startPrometheus3, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, kafkaProducer, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { metricSum } from '../e2e/receivers.js';

let receiver: PrometheusServer;
let relay: RelayProcess;
/** the same, writing Remote Write 1.0 */
let relayV1: RelayProcess;
let topic: string;
let topicV1: string;
const cleanups: (() => Promise<unknown>)[] = [];
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  // Prometheus 3.16 (v0.316.0) still keeps exemplars only with the feature flag.
  [receiver] = await Promise.all([startPrometheus3({ features: ['exemplar-storage'] }), connect()]);
  [topic, topicV1] = await Promise.all([createTestTopic({ prefix: 'metrics', partitions: 2 }), createTestTopic({ prefix: 'metrics', partitions: 1 })]);
  const v1 = { remote_write: { url: receiver.remoteWriteUrl, protocol: '1.0', retry_max_elapsed: '2s', timeout: '2s' } };
  [relay, relayV1] = await Promise.all([
    startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: receiver.remoteWriteUrl })),
    startRelayProcess(testRelayConfig({ topic: topicV1, remoteWriteUrl: receiver.remoteWriteUrl, extra: v1 })),
  ]);
}, 900_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  if (relay) await stopRelay(relay);
  if (relayV1) await stopRelay(relayV1);
  await producer.disconnect();
  await receiver?.stop();
});

const dropped = (path: string) => metricSum(relay.url, 'prom_relay_exemplars_dropped_total', `path="${path}"`);

interface StoredExemplar {
  trace: string | undefined;
  value: number;
  timestamp: number;
}

/** The exemplars the receiver stored for `selector` in the last 10 minutes, oldest first. */
async function stored(selector: string): Promise<StoredExemplar[]> {
  const end = Date.now() / 1000 + 60;
  const url = `${receiver.url}/api/v1/query_exemplars?query=${encodeURIComponent(selector)}&start=${end - 660}&end=${end}`;
  const body = (await (await fetch(url)).json()) as { status: string; data: { exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[] };
  expect(body.status).toBe('success');
  const all = body.data.flatMap((s) => s.exemplars.map((e) => ({ trace: e.labels['trace_id'], value: Number(e.value), timestamp: e.timestamp })));
  return all.sort((a, b) => a.timestamp - b.timestamp);
}
const latest = async (selector: string) => (await stored(selector)).at(-1);

/**
 * An OpenMetrics target: a counter and a histogram that grow per scrape, each scrape with new exemplars, until
 * `freeze()`: from then on every scrape serves the last one again (Prometheus stamps its exemplars anew).
 */
async function exemplarTarget(): Promise<{ url: string; server: Server; freeze: () => number }> {
  let scrapes = 0;
  let frozen = false;
  const server = createServer((_req, res) => {
    if (!frozen || scrapes === 0) scrapes++;
    const n = scrapes;
    res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    res.end(
      [
        '# TYPE ex_requests counter',
        `ex_requests_total ${n} # {trace_id="t${n}"} 0.5`,
        '# TYPE ex_latency_seconds histogram',
        'ex_latency_seconds_bucket{le="0.1"} 0',
        `ex_latency_seconds_bucket{le="0.5"} ${n} # {trace_id="h${n}"} 0.25`,
        `ex_latency_seconds_bucket{le="+Inf"} ${n}`,
        `ex_latency_seconds_sum ${n * 0.25}`,
        `ex_latency_seconds_count ${n}`,
        '# EOF',
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const freeze = () => {
    frozen = true;
    return scrapes;
  };
  return { url: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, freeze };
}

it('a Prometheus 3 sender (RW 2.0, send_exemplars): the receiver stores the latest exemplar of the relayed counter and histogram bucket, none failed', async () => {
  const target = await exemplarTarget();
  cleanups.push(
    () =>
      new Promise((r) => {
        target.server.close(r);
        target.server.closeAllConnections();
      }),
  );
  const sender = await startPrometheus3({
    features: ['exemplar-storage'],
    extraConfig: [
      'scrape_configs:',
      '  - job_name: exemplars',
      '    static_configs: [{ targets: ["' + target.url + '"] }]',
      'remote_write:',
      `  - url: ${relay.url}/api/v1/write`,
      '    protobuf_message: io.prometheus.write.v2.Request',
      '    send_exemplars: true',
      '    queue_config: { batch_send_deadline: 500ms }',
    ].join('\n'),
  });
  cleanups.push(() => sender.stop());

  await eventually(() => receiver.query('ex_requests_total{job="exemplars"}'), (v) => v.length === 1 && v[0]!.value >= 3, 60_000);
  await eventually(() => latest('ex_requests_total{job="exemplars"}'), (e) => e !== undefined, 30_000);
  // Freeze the target (no new exemplars from now on); the last one it served must arrive, as the latest.
  const n = target.freeze();
  const counter = await eventually(() => latest('ex_requests_total{job="exemplars"}'), (e) => e?.trace === `t${n}`, 30_000);
  expect(counter).toMatchObject({ trace: `t${n}`, value: 0.5 });
  const bucket = await eventually(() => latest('ex_latency_seconds_bucket{job="exemplars",le="0.5"}'), (e) => e?.trace === `h${n}`, 30_000);
  expect(bucket).toMatchObject({ trace: `h${n}`, value: 0.25 });
  // The receiver's exemplars of the counter are the target's, in the order it served them.
  const traces = (await stored('ex_requests_total{job="exemplars"}')).map((e) => Number(e.trace!.slice(1)));
  expect(new Set(traces).size).toBeGreaterThanOrEqual(2);
  expect(traces).toEqual([...traces].sort((a, b) => a - b));
  // Nothing was over the limits: nothing dropped, and the sender counts every exemplar written.
  const counts = async () => ({
    sent: await metricSum(sender.url, 'prometheus_remote_storage_exemplars_total'),
    failed: await metricSum(sender.url, 'prometheus_remote_storage_exemplars_failed_total'),
    samplesFailed: await metricSum(sender.url, 'prometheus_remote_storage_samples_failed_total'),
  });
  const settled = await eventually(counts, (c) => c.sent >= 2 * n - 2, 30_000);
  expect(settled.sent).toBeGreaterThanOrEqual(6);
  expect(settled.failed).toBe(0);
  expect(settled.samplesFailed).toBe(0);
  expect(await dropped('remote_write_v2')).toBe(0);
}, 240_000);

/** Label names and values of `n` characters together. */
const sized = (n: number, timestamp: number, trace = 'x'): Exemplar => ({ labels: { trace_id: trace.padEnd(n - 'trace_id'.length, '.') }, value: 7, timestamp });

it('the ingest keeps exemplars within the limits (Exemplars-Written says how many) and drops the ones over, counted', async () => {
  const now = Date.now();
  const req: WriteRequest = {
    timeseries: [
      {
        labels: { __name__: 'ov_rows_total', job: 'ov', instance: 'i1' },
        samples: [{ value: 4, timestamp: now }],
        exemplars: [sized(128, now - 10, 'fits'), sized(129, now, 'over')],
      },
    ],
    metadata: [{ metricFamilyName: 'ov_rows_total', type: 'counter' }],
  };
  const before = await dropped('remote_write_v2');
  const res = await fetch(`${relay.url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '2.0.0',
    },
    body: Buffer.from(compress(encodeWriteRequestV2(req))),
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBe('1');
  expect(res.headers.get('x-prometheus-remote-write-exemplars-written')).toBe('1');
  expect(await dropped('remote_write_v2')).toBe(before + 1);
  // The one within the limits is the series' latest that reaches the receiver (the later one over them never does).
  const e = await eventually(() => latest('ov_rows_total{job="ov"}'), (x) => x !== undefined, 30_000);
  expect(e?.trace).toBe(sized(128, 0, 'fits').labels['trace_id']);
  expect(e?.timestamp).toBe((now - 10) / 1000);
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'remote_write_v2', 10_000);
  expect(line.exemplars).toBe(1);
}, 120_000);

it('Remote Write messages on Kafka (1.0 and 2.0): the latest exemplar within the limits reaches the receiver, those over counted by path', async () => {
  const req = (value: number, at: number): WriteRequest => ({
    timeseries: [
      {
        labels: { __name__: 'kx_rows_total', table: 'users' },
        samples: [{ value, timestamp: at }],
        exemplars: [
          { labels: { trace_id: `late${value}` }, value: 2, timestamp: at - 5 },
          { labels: { trace_id: `k${value}` }, value: 1, timestamp: at - 1 },
          sized(200, at, 'over'),
        ],
      },
    ],
    metadata: [{ metricFamilyName: 'kx_rows_total', type: 'counter' }],
  });
  const message = (version: 1 | 2, value: number, seq: number) =>
    buildMessage(
      { contentType: version === 2 ? CONTENT_TYPE.remoteWriteV2 : CONTENT_TYPE.remoteWriteV1, job: 'kx', grouping: { instance: 'k1' }, producerId: 'kx-run', sequence: seq },
      Buffer.from(version === 2 ? encodeWriteRequestV2(req(value, Date.now())) : encodeWriteRequest(req(value, Date.now()))),
    );
  const [v1Before, v2Before] = [await dropped('kafka_remote_write_v1'), await dropped('kafka_remote_write_v2')];
  await producer.send({ topic, acks: -1, messages: [message(1, 5, 0)] });
  await eventually(() => latest('kx_rows_total{job="kx"}'), (e) => e?.trace === 'k5', 30_000);
  await producer.send({ topic, acks: -1, messages: [message(2, 9, 1)] });

  await eventually(() => receiver.query('kx_rows_total{job="kx"}'), (v) => v.length === 1 && v[0]!.value === 9, 30_000);
  const e = await eventually(() => latest('kx_rows_total{job="kx"}'), (x) => x?.trace === 'k9', 30_000);
  expect(e).toMatchObject({ trace: 'k9', value: 1 });
  expect((await stored('kx_rows_total{job="kx"}')).map((x) => x.trace)).toEqual(['k5', 'k9']);
  expect(await eventually(() => dropped('kafka_remote_write_v1'), (n) => n - v1Before === 1, 10_000)).toBe(v1Before + 1);
  expect(await eventually(() => dropped('kafka_remote_write_v2'), (n) => n - v2Before === 1, 10_000)).toBe(v2Before + 1);
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'kafka_remote_write_v1', 10_000);
  expect(line.exemplars).toBe(1);
}, 120_000);

it('Remote Write 1.0 out carries them too, for a native histogram series as well', async () => {
  const at = Date.now();
  const req: WriteRequest = {
    timeseries: [
      { labels: { __name__: 'w1_rows_total' }, samples: [{ value: 3, timestamp: at }], exemplars: [{ labels: { trace_id: 'w1' }, value: 1, timestamp: at - 1 }] },
      {
        labels: { __name__: 'w1_latency_seconds' },
        samples: [],
        histograms: [
          {
            count: 3,
            sum: 1.5,
            schema: 0,
            zeroThreshold: 0,
            zeroCount: 0,
            negativeSpans: [],
            negativeDeltas: [],
            negativeCounts: [],
            positiveSpans: [{ offset: 0, length: 1 }],
            positiveDeltas: [3],
            positiveCounts: [],
            resetHint: 'unknown',
            timestamp: at,
          },
        ],
        exemplars: [{ labels: { trace_id: 'h1' }, value: 0.5, timestamp: at - 2 }],
      },
    ],
    metadata: [
      { metricFamilyName: 'w1_rows_total', type: 'counter' },
      { metricFamilyName: 'w1_latency_seconds', type: 'histogram' },
    ],
  };
  const headers = { contentType: CONTENT_TYPE.remoteWriteV2, job: 'w1', grouping: { instance: 'a' }, producerId: 'w1-run', sequence: 0 };
  await producer.send({ topic: topicV1, acks: -1, messages: [buildMessage(headers, Buffer.from(encodeWriteRequestV2(req)))] });
  const counter = await eventually(() => latest('w1_rows_total{job="w1"}'), (e) => e !== undefined, 30_000);
  expect(counter).toEqual({ trace: 'w1', value: 1, timestamp: (at - 1) / 1000 });
  const histogram = await eventually(() => latest('w1_latency_seconds{job="w1"}'), (e) => e !== undefined, 30_000);
  expect(histogram).toEqual({ trace: 'h1', value: 0.5, timestamp: (at - 2) / 1000 });
  expect(await receiver.query('histogram_count(w1_latency_seconds{job="w1"})')).toEqual([expect.objectContaining({ value: 3 })]);
}, 120_000);
