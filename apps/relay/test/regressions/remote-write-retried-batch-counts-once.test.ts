// A Remote Write sender (Prometheus, its agent) retries a batch after a 5xx or a timeout: the same request again, every
// series with all its samples. A relay whose answer was lost (or that answered 503 after Kafka took the messages: no
// ack within sendTimeoutMs) gets a request it already applied. The aggregate read the samples' values in order and
// ignored their timestamps, so the retry's first sample, older and lower than the last one applied, looked like a
// counter reset and counted again: a batch of 10, 20, 30 posted twice made 60, not 30 (measured through a relay
// process into Prometheus 2.42). The same for a sample older than one already applied (a request delayed behind a
// newer one, two senders of one series): a reset, counted in full. Samples of a series older than the newest one the
// producer applied (by their Remote Write timestamps) are now left out (counted in prom_relay_points_rejected_total{reason="duplicate"}), also after the
// partition is restored from a checkpoint. A real Prometheus 2.42 remote-writing a scraped counter through a proxy
// that answers 500 to every second request the relay took: 800 for 400 before, exact now.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compress, encodeWriteRequest, type Sample } from '@prom-relay/codec';
import { startPrometheus } from '@prom-relay/infra';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { options } from '../aggregate/fixtures.js';
import { eventually } from '../e2e/harness.js';
import { RW1, agentRemoteWrite, relayCounter, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let env: RelayWithProm;
const servers: Server[] = [];

beforeAll(async () => {
  env = await relayWithProm('rw-retry');
}, 120_000);
afterAll(async () => {
  for (const s of servers) s.close();
  await env?.stop();
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const T0 = Date.now() - 60_000;

function request(name: string, samples: [at: number, value: number][], instance = 'node-1:9100'): Buffer {
  const series = [{ labels: { __name__: name, job: 'agent', instance }, samples: samples.map(([at, value]): Sample => ({ timestamp: T0 + at, value })) }];
  return Buffer.from(compress(encodeWriteRequest({ timeseries: series, metadata: [{ type: 'counter', metricFamilyName: name }] })));
}

it('a batch posted again (a retry) and an older batch after a newer one change no counter total', async () => {
  const { relay, prom } = env;
  const post = async (body: Buffer) => expect((await send(relay.url, 'POST', '/api/v1/write', RW1, body)).status).toBe(204);
  const total = (name: string) => async () => (await prom.query(`${name}{job="agent"}`))[0]?.value;

  // Retried: the whole batch again, then the sender goes on.
  const batch = request('rwr_retried_total', [[1000, 10], [2000, 20], [3000, 30]]);
  await post(batch);
  await post(batch);
  await post(request('rwr_retried_total', [[4000, 35]]));
  // Out of order: a newer request first, then an older one of the same series.
  await post(request('rwr_late_total', [[2000, 50]]));
  await post(request('rwr_late_total', [[1000, 40]]));
  // A genuine reset is still one (newer timestamp, lower value), and a second instance of the job adds its own.
  await post(request('rwr_late_total', [[3000, 5]]));
  await post(request('rwr_late_total', [[1000, 7]], 'node-2:9100'));

  expect(await eventually(total('rwr_retried_total'), (v) => v === 35, 30_000)).toBe(35);
  expect(await eventually(total('rwr_late_total'), (v) => v === 62, 30_000)).toBe(62);
  // Settled: a later flush still says the same.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await total('rwr_retried_total')()).toBe(35);
  expect(await total('rwr_late_total')()).toBe(62);
  // Left out, and counted: the retry's 2 samples older than the newest applied, and the late one (the retry's newest
  // sample, as new as the one applied, is applied again and adds nothing, as a repeated push does).
  expect(await relayCounter(relay.url, 'prom_relay_points_rejected_total', { reason: 'duplicate' })).toBe(3);
}, 120_000);

it('the newest sample time applied survives a checkpoint: a retry after a restore adds nothing', () => {
  // A message as the ingest writes it: the request's protobuf, snappy-compressed.
  const batch = request('rwc_total', [[1000, 10], [2000, 20], [3000, 30]]);
  const first = new PartitionAggregate(options());
  first.apply(agentRemoteWrite(batch, 0), Date.now());
  const state = first.toState() as { stamps?: number[] };
  // One row (scope, input, time), the time counted from the state's epoch: a small number, not 13 digits.
  expect(state.stamps).toHaveLength(3);
  expect(Math.abs(state.stamps![2]!)).toBeLessThan(86_400_000);
  const restored = PartitionAggregate.fromState(JSON.parse(JSON.stringify(state)), options());
  const result = restored.apply(agentRemoteWrite(batch, 1), Date.now());
  expect(result.duplicates).toBe(2);
  restored.apply(agentRemoteWrite(request('rwc_total', [[4000, 31]]), 2), Date.now());
  const out = restored.collect(Date.now()).filter((s) => s.labels['__name__'] === 'rwc_total');
  expect(out.map((s) => s.value)).toEqual([31]);
});

it('a real Prometheus retrying the requests it got a 500 for, after the relay applied them, gives the exact total', async () => {
  const { relay, prom } = env;
  const registry = new Registry();
  const rows = new Counter({ name: 'rwr_scraped_rows_total', help: 'Rows.', registers: [registry] });
  const target = await listen(createServer((_req, res) => void registry.metrics().then((text) => res.setHeader('content-type', registry.contentType).end(text))));
  // In front of the relay: every second request is answered 500 once the relay took it (an answer lost on the way, a
  // proxy timing out): the sender retries the same batch, several samples per series in it.
  let failed = 0;
  let seen = 0;
  const proxy = await listen(
    createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const up = httpRequest(`${relay.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
          answer.resume();
          answer.on('end', () => {
            const fail = ++seen % 2 === 0 && answer.statusCode === 204;
            if (fail) failed++;
            res.writeHead(fail ? 500 : (answer.statusCode ?? 502)).end();
          });
        });
        up.on('error', () => res.writeHead(502).end());
        up.end(Buffer.concat(body));
      });
    }),
  );
  const sender = await startPrometheus({
    scrapeInterval: '1s',
    extraConfig: [
      'scrape_configs:',
      '  - job_name: scraped',
      `    static_configs: [{ targets: ['${target}'] }]`,
      'remote_write:',
      `  - url: http://${proxy}/api/v1/write`,
      '    queue_config: { batch_send_deadline: 3s, min_backoff: 100ms, max_backoff: 500ms }',
      '    metadata_config: { send: true, send_interval: 1s }',
    ].join('\n'),
  });
  try {
    for (let i = 0; i < 40; i++) {
      rows.inc(10);
      await new Promise((r) => setTimeout(r, 200));
    }
    const final = (await registry.getSingleMetric('rwr_scraped_rows_total')!.get()).values[0]!.value;
    expect(final).toBe(400);
    const total = async () => (await prom.query('rwr_scraped_rows_total{job="scraped"}'))[0]?.value;
    expect(await eventually(total, (v) => v === final, 60_000)).toBe(final);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await total()).toBe(final);
    expect(failed).toBeGreaterThan(2);
  } finally {
    await sender.stop();
  }
}, 180_000);
