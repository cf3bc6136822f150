// A Remote Write 2.0 receiver may answer 2xx and write only part of a request, saying so in its
// X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers (the 2.0 spec: the precise number written;
// senders use it for partial writes). The client counted such a request as all sent, silently. Now the difference is
// samplesFailed (exemplarsFailed), the write a `failure` with PROM_RELAY_PUSH_PARTIAL_WRITE naming what was not
// written, and the client's metrics count it. A fake receiver (startTestReceiver) answers these partial 2xx: Prometheus
// 3 (infra) answers a request with out-of-order samples 400, not a partial 2xx, so it cannot produce this fault.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../src/index.js';
import type { WriteSeries } from '../../src/index.js';
import { startTestReceiver } from '../../src/testing/index.js';
import type { ReceivedRequest, TestReceiver } from '../../src/testing/index.js';

let receiver: TestReceiver;
beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());

const T = 1_700_000_000_000;
const series = (n: number): WriteSeries[] =>
  Array.from({ length: n }, (_, i) => ({
    labels: { __name__: 'rows_total', id: String(i) },
    samples: [{ value: i, timestamp: T }],
    exemplars: [{ labels: { trace_id: `t${i}` }, value: i, timestamp: T }],
  }));

/** Answers 204 with written counts `less` below what the request carried (as a receiver leaving some out). */
const writesLess = (less: { samples: number; exemplars: number }) => (req: ReceivedRequest) => {
  const ts = req.writeRequest!.timeseries;
  const samples = ts.reduce((n, t) => n + t.samples.length, 0);
  const exemplars = ts.reduce((n, t) => n + (t.exemplars?.length ?? 0), 0);
  return {
    status: 204,
    headers: {
      'x-prometheus-remote-write-samples-written': String(Math.max(0, samples - less.samples)),
      'x-prometheus-remote-write-histograms-written': '0',
      'x-prometheus-remote-write-exemplars-written': String(Math.max(0, exemplars - less.exemplars)),
    },
  };
};

it('counts the samples a 2xx did not write as failed, and reports the write as a partial write', async () => {
  receiver.respond(writesLess({ samples: 3, exemplars: 0 }));
  const registry = new Registry();
  const client = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1, registry, name: 'partial' });
  const result = await client.write(series(10));
  await client.close();
  expect(result.status).toBe('failure');
  expect(result.counts).toMatchObject({ samplesSent: 7, samplesFailed: 3, exemplarsFailed: 0, requests: 1 });
  const error = result.status === 'failure' ? result.error : undefined;
  expect(error?.code).toBe('PROM_RELAY_PUSH_PARTIAL_WRITE');
  expect(error?.message).toContain('3 of 10 samples were not written');
  expect(result.partial).toBe(error);
  expect(result.rejected).toEqual([]);
  expect(client.stats()).toMatchObject({ samplesSent: 7, samplesFailed: 3 });
  const metrics = await registry.metrics();
  expect(metrics).toMatch(/^prom_relay_remote_write_samples_failed_total\{remote="partial"\} 3$/m);
  expect(metrics).toMatch(/^prom_relay_remote_write_samples_sent_total\{remote="partial"\} 7$/m);
});

it('counts exemplars a 2xx did not write, leaving the samples delivered and the write a success that says so', async () => {
  receiver.respond(writesLess({ samples: 0, exemplars: 4 }));
  const registry = new Registry();
  const client = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1, registry, name: 'ex' });
  const result = await client.write(series(10));
  await client.close();
  expect(result.status).toBe('success');
  expect(result.counts).toMatchObject({ samplesSent: 10, samplesFailed: 0, exemplarsFailed: 4 });
  expect(result.partial?.code).toBe('PROM_RELAY_PUSH_PARTIAL_WRITE');
  expect(result.partial?.message).toContain('4 of 10 exemplars were not written');
  expect(await registry.metrics()).toMatch(/^prom_relay_remote_write_exemplars_failed_total\{remote="ex"\} 4$/m);
});

it('a full write stays a success without a partial error', async () => {
  receiver.respond(writesLess({ samples: 0, exemplars: 0 }));
  const client = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1 });
  const result = await client.write(series(10));
  await client.close();
  expect(result).toMatchObject({ status: 'success', counts: { samplesSent: 10, samplesFailed: 0, exemplarsFailed: 0 } });
  expect(result.partial).toBeUndefined();
});
