// The relay's flush through a Remote Write 2.0 receiver that answers 2xx but writes less than it was sent (its
// X-Prometheus-Remote-Write-Samples-Written counts fewer: a partial write). The push-client took it as all sent, so
// the flush was a success and nothing counted or logged what the receiver left out. Now the flush is a failure:
// prom_relay_samples_failed_total{reason="refused"} counts the samples left out, and the "remote write incomplete" warning (one per
// flush) names PROM_RELAY_PUSH_PARTIAL_WRITE. A fake receiver (push-client's startTestReceiver) makes the fault:
// Prometheus 3 answers a request with out-of-order samples 400, not a partial 2xx. Exemplars a receiver leaves out
// of a 2xx are dropped exemplars: prom_relay_exemplars_dropped_total{path="remote_write_receiver"}, logged.
import { compress, encodeWriteRequestV2 } from '@prom-relay/codec';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@prom-relay/push-client/testing';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, relayTestEnvironment, stopRelay } from '../e2e/harness.js';
import { RW2, TEXT, relayCounter, send } from './ingest-helpers.js';

/** Writes every sample of a request but one (a receiver that left one out of order sample out). */
function writesOneLess(req: ReceivedRequest) {
  const samples = req.writeRequest?.timeseries.reduce((n, t) => n + t.samples.length, 0) ?? 0;
  return { status: 204, headers: { 'x-prometheus-remote-write-samples-written': String(Math.max(0, samples - 1)), 'x-prometheus-remote-write-histograms-written': '0', 'x-prometheus-remote-write-exemplars-written': '0' } };
}

const env = relayTestEnvironment<{ stop(): Promise<unknown>; remoteWriteUrl: string; receiver: TestReceiver }>({
  receiver: async () => {
    const receiver = await startTestReceiver({ respond: writesOneLess });
    return { receiver, remoteWriteUrl: `${receiver.url}/api/v1/write`, stop: () => receiver.close() };
  },
  producer: false,
});

it('counts the samples a 2.0 receiver left out of a 2xx as failed, and warns naming the partial write', async () => {
  const topic = await createTestTopic({ prefix: 'partial', partitions: 1 });
  const remoteWriteUrl = env.prom.remoteWriteUrl;
  const relay = await env.startRelay(
    env.relayConfig({ topic, extra: { remote_write: { url: remoteWriteUrl, protocol: '2.0', retry_max_elapsed: '2s', timeout: '2s' } } }),
  );
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
  const body = ['# TYPE partial_rows_total counter', ...Array.from({ length: 5 }, (_, i) => `partial_rows_total{table="t${i}"} ${i + 1}`)].join('\n') + '\n';
  expect((await send(relay.url, 'PUT', '/metrics/job/partial/instance/a', TEXT, body)).status).toBe(200);

  // A request of one sample the receiver leaves out is "nothing written" (PROM_RELAY_PUSH_NOT_WRITTEN): wait for a partial one.
  const warning = await relay.waitForLog(
    (l) => l.msg === 'remote write incomplete; the next flush carries the totals' && JSON.stringify(l).includes('PROM_RELAY_PUSH_PARTIAL_WRITE'),
    60_000,
  );
  expect(JSON.stringify(warning)).toMatch(/1 of \d+ samples were not written/);
  // Refused for good: the receiver answered, and would leave them out again (not a retries_exhausted).
  const failed = await eventually(() => relayCounter(relay.url, 'prom_relay_samples_failed_total', { reason: 'refused' }), (n) => n > 0, 30_000);
  expect(failed).toBeGreaterThan(0);
  expect(env.prom.receiver.requests.some((r) => r.status === 204)).toBe(true);
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);

it('counts exemplars a 2.0 receiver answered 2xx to without writing them as dropped, and logs it', async () => {
  // Every sample and histogram written, no exemplar (as a receiver whose exemplar storage refused them).
  env.prom.receiver.respond((req) => {
    const ts = req.writeRequest?.timeseries ?? [];
    const samples = ts.reduce((n, t) => n + t.samples.length, 0);
    const histograms = ts.reduce((n, t) => n + (t.histograms?.length ?? 0), 0);
    return { status: 204, headers: { 'x-prometheus-remote-write-samples-written': String(samples), 'x-prometheus-remote-write-histograms-written': String(histograms), 'x-prometheus-remote-write-exemplars-written': '0' } };
  });
  const topic = await createTestTopic({ prefix: 'partial-ex', partitions: 1 });
  const relay = await env.startRelay(
    env.relayConfig({ topic, extra: { remote_write: { url: env.prom.remoteWriteUrl, protocol: '2.0', retry_max_elapsed: '2s', timeout: '2s' } } }),
  );
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
  const now = Date.now();
  const request = {
    timeseries: [
      {
        labels: { __name__: 'partial_requests_total', job: 'partial', instance: 'b' },
        samples: [{ value: 3, timestamp: now }],
        exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestamp: now }],
      },
    ],
  };
  const res = await send(relay.url, 'POST', '/api/v1/write', RW2, Buffer.from(compress(encodeWriteRequestV2(request))));
  expect(res.status).toBe(204);
  expect(res.headers['x-prometheus-remote-write-exemplars-written']).toBe('1');

  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_EXEMPLARS_DROPPED' && l.path === 'remote_write_receiver', 60_000);
  expect(line).toMatchObject({ level: 40, exemplars: 1 });
  expect(await relayCounter(relay.url, 'prom_relay_exemplars_dropped_total', { path: 'remote_write_receiver' })).toBe(1);
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
