// Guards issue 11 item 5: the relay does not carry exemplars, and says so. Before, the Remote Write ingest answered
// `X-Prometheus-Remote-Write-Exemplars-Written: <every exemplar>` and the consumer dropped them without a trace: a
// Prometheus 3 sender believed them stored. Now every exemplar is dropped with prom_relay_exemplars_dropped_total{path}
// and a rate-limited log line, and the 2.0 ingest answers Exemplars-Written: 0 — which a real Prometheus 3 sender
// (scraping an OpenMetrics target with exemplars, `send_exemplars: true`) counts as failed exemplars, its samples
// delivered. Remote Write messages with exemplars produced straight to Kafka (1.0 and 2.0) are counted too.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWriteRequest, encodeWriteRequestV2, type WriteRequest } from '@prom-relay/codec';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startPrometheus, startPrometheus3, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, kafkaProducer, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { metricSum } from '../e2e/receivers.js';

let receiver: PrometheusServer;
let relay: RelayProcess;
let topic: string;
const cleanups: (() => Promise<unknown>)[] = [];
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  [receiver] = await Promise.all([startPrometheus(), connect()]);
  topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  relay = await startRelayProcess(
    testRelayConfig({
      topic,
      remoteWriteUrl: receiver.remoteWriteUrl,
    }),
  );
}, 900_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  if (relay) await stopRelay(relay);
  await producer.disconnect();
  await receiver?.stop();
});

const dropped = (path: string) => metricSum(relay.url, 'prom_relay_exemplars_dropped_total', `path="${path}"`);

/** An OpenMetrics target: a counter that grows by one per scrape, each scrape with a new exemplar. */
async function exemplarTarget(): Promise<{ url: string; server: Server }> {
  let scrapes = 0;
  const server = createServer((_req, res) => {
    scrapes++;
    res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    res.end(`# TYPE ex_requests counter\nex_requests_total ${scrapes} # {trace_id="t${scrapes}"} 0.5\n# EOF\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

it('a Prometheus 3 sender (RW 2.0, send_exemplars) gets Exemplars-Written 0: its exemplars count as failed, its samples arrive', async () => {
  const target = await exemplarTarget();
  cleanups.push(() => new Promise((r) => target.server.close(r)));
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

  // The relayed counter reaches the relay's receiver; the exemplars stop at the ingest, counted.
  await eventually(() => receiver.query('ex_requests_total{job="exemplars"}'), (v) => v.length === 1 && v[0]!.value >= 3, 60_000);
  await eventually(() => dropped('remote_write_v2'), (n) => n >= 3, 30_000);
  // Quiet the target (scrapes fail from now on: no new exemplars), then compare what the sender counted.
  await new Promise((r) => target.server.close(r));
  target.server.closeAllConnections();
  const counts = async () => ({
    sent: await metricSum(sender.url, 'prometheus_remote_storage_exemplars_total'),
    failed: await metricSum(sender.url, 'prometheus_remote_storage_exemplars_failed_total'),
    samplesFailed: await metricSum(sender.url, 'prometheus_remote_storage_samples_failed_total'),
    dropped: await dropped('remote_write_v2'),
  });
  let last = await counts();
  const settled = await eventually(
    async () => {
      const now = await counts();
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return { same, now };
    },
    (r) => r.same && r.now.sent > 0 && r.now.dropped === r.now.sent,
    30_000,
    1500,
  );
  // Every exemplar the sender sent was dropped and counted, none acknowledged as written; no sample failed.
  expect(settled.now.sent).toBeGreaterThanOrEqual(3);
  expect(settled.now.dropped).toBe(settled.now.sent);
  expect(settled.now.failed).toBe(settled.now.sent);
  expect(settled.now.samplesFailed).toBe(0);
  expect(await dropped('remote_write_v1')).toBe(0);
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'remote_write_v2', 10_000);
  expect(line.msg).toMatch(/exemplars dropped/);
}, 180_000);

it('Remote Write messages with exemplars on Kafka (1.0 and 2.0): samples applied, exemplars counted by their path', async () => {
  const req = (value: number): WriteRequest => ({
    timeseries: [
      {
        labels: { __name__: 'kx_rows_total', table: 'users' },
        samples: [{ value, timestamp: Date.now() }],
        exemplars: [
          { labels: { trace_id: `a${value}` }, value: 1, timestamp: Date.now() },
          { labels: { trace_id: `b${value}` }, value: 2, timestamp: Date.now() },
        ],
      },
    ],
    metadata: [{ metricFamilyName: 'kx_rows_total', type: 'counter' }],
  });
  const message = (version: 1 | 2, value: number, seq: number) =>
    buildMessage(
      { contentType: version === 2 ? CONTENT_TYPE.remoteWriteV2 : CONTENT_TYPE.remoteWriteV1, job: 'kx', grouping: { instance: 'k1' }, producerId: 'kx-run', sequence: seq },
      Buffer.from(version === 2 ? encodeWriteRequestV2(req(value)) : encodeWriteRequest(req(value))),
    );
  const [v1Before, v2Before] = [await dropped('kafka_remote_write_v1'), await dropped('kafka_remote_write_v2')];
  await producer.send({ topic, acks: -1, messages: [message(1, 5, 0)] });
  await producer.send({ topic, acks: -1, messages: [message(2, 9, 1)] });

  await eventually(() => receiver.query('kx_rows_total{job="kx"}'), (v) => v.length === 1 && v[0]!.value === 9, 30_000);
  expect(await eventually(() => dropped('kafka_remote_write_v1'), (n) => n - v1Before === 2, 10_000)).toBe(v1Before + 2);
  expect(await eventually(() => dropped('kafka_remote_write_v2'), (n) => n - v2Before === 2, 10_000)).toBe(v2Before + 2);
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'kafka_remote_write_v1', 10_000);
  expect(line.exemplars).toBe(2);
}, 120_000);
