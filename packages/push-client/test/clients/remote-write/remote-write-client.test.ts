import type { Histogram } from '@prom-relay/codec';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { PushClientError, RemoteWriteClient } from '../../../src/index.js';
import type { RemoteWriteOptions, WriteResult, WriteSeries } from '../../../src/index.js';
import type { TestReceiver } from '../../../src/testing/index.js';
import { FAST_RETRY, receiverFixture } from './fixture.js';

describe('RemoteWriteClient', () => {
  const fx = receiverFixture();
  const client = fx.client;
  let receiver: TestReceiver;
  beforeAll(() => {
    receiver = fx.receiver;
  });

  const many = (n: number, samplesEach = 1, name = 'm'): WriteSeries[] =>
    Array.from({ length: n }, (_, i) => ({
      labels: { __name__: name, id: String(i) },
      samples: Array.from({ length: samplesEach }, (_, k) => ({ value: k, timestamp: 1000 * (k + 1) })),
    }));

  describe('options', () => {
    it('validates once at construction and names the bad field', () => {
      const bad: Array<[Partial<RemoteWriteOptions>, RegExp]> = [
        [{ url: 'ftp://x' }, /option url/],
        [{ concurrency: 0 }, /option concurrency/],
        [{ retry: { minBackoffMs: 100, maxBackoffMs: 10 } }, /option retry\.minBackoffMs/],
        [{ retry: { maxAttempts: 0 } }, /option retry\.maxAttempts/],
        [{ protocol: 'v3' as never }, /option protocol/],
        [{ basicAuth: { username: 'u', password: 'p' }, bearerToken: 't' }, /option bearerToken/],
        [{ queue: { dropPolicy: 'drop-random' as never } }, /option queue\.dropPolicy/],
        [{ colour: 'red' } as never, /colour/],
      ];
      for (const [options, message] of bad) {
        let error: unknown;
        try {
          new RemoteWriteClient({ url: receiver.url, ...options });
        } catch (err) {
          error = err;
        }
        expect(error, JSON.stringify(options)).toBeInstanceOf(PushClientError);
        expect((error as PushClientError).code).toBe('PROM_RELAY_PUSH_INVALID_OPTIONS');
        expect((error as PushClientError).message).toMatch(message);
      }
      expect(() => new RemoteWriteClient({ url: receiver.url, retry: { maxAttempts: Infinity } })).not.toThrow();
    });
  });

  describe('auth as the receiver sees it', () => {
    it('sends basic auth', async () => {
      await client({ basicAuth: { username: '1250000000', password: 's3cr:et' } }).write(many(1));
      const header = String(receiver.requests[0]!.headers.authorization);
      expect(header.startsWith('Basic ')).toBe(true);
      expect(Buffer.from(header.slice(6), 'base64').toString()).toBe('1250000000:s3cr:et');
    });

    it('keeps credentials out of errors', async () => {
      receiver.respond(() => ({ status: 401, body: 'unauthorized' }));
      const result = await client({ basicAuth: { username: 'app', password: 'hunter2-secret' } }).write(many(1));
      expect(result.status).toBe('failure');
      const logged = JSON.stringify(result);
      expect(logged).toContain('401');
      expect(logged).not.toContain('hunter2-secret');
      expect(logged).not.toContain(Buffer.from('app:hunter2-secret').toString('base64'));
    });

    it('sends a bearer token', async () => {
      await client({ bearerToken: 'tok-123' }).write(many(1));
      expect(receiver.requests[0]!.headers.authorization).toBe('Bearer tok-123');
    });
  });

  describe('request limits', () => {
    it('cuts batches at maxSamplesPerRequest, splitting a long series into ordered chunks', async () => {
      const result = await client({ concurrency: 1, maxSamplesPerRequest: 10 }).write([...many(3, 4), ...many(1, 25, 'long')]);
      expect(result.counts.samplesSent).toBe(37);
      for (const r of receiver.requests) {
        const n = r.writeRequest!.timeseries.reduce((k, t) => k + t.samples.length, 0);
        expect(n).toBeLessThanOrEqual(10);
      }
      const long = receiver.acceptedSamples().get('long{id="0"}')!;
      expect(long.map((s) => s.value)).toEqual(Array.from({ length: 25 }, (_, k) => k));
    });

    it('halves a batch whose encoded size passes maxBytesPerRequest', async () => {
      const wide = Array.from({ length: 40 }, (_, i) => ({ labels: { __name__: 'w', id: String(i), pad: 'x'.repeat(200) }, samples: [{ value: 1, timestamp: 1 }] }));
      const result = await client({ concurrency: 1, maxBytesPerRequest: 2048 }).write(wide);
      expect(result.status).toBe('success');
      expect(receiver.requests.length).toBeGreaterThan(4);
      for (const r of receiver.requests) expect(r.raw!.byteLength).toBeLessThanOrEqual(2048);
      expect(receiver.acceptedSamples().size).toBe(40);
    });
  });

  describe('native histograms and exemplars', () => {
    it('sends them through, counts histogram samples, and cuts long histogram series in order', async () => {
      const histogram = (timestamp: number): Histogram => ({
        count: 3, sum: 1.5, schema: 0, zeroThreshold: 1e-128, zeroCount: 0,
        negativeSpans: [], negativeDeltas: [], negativeCounts: [],
        positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 1], positiveCounts: [],
        resetHint: 'no', timestamp,
      });
      const result = await client({ concurrency: 1, maxSamplesPerRequest: 4 }).write([
        {
          labels: { __name__: 'latency_seconds' },
          samples: [],
          histograms: [5, 1, 4, 2, 3, 6].map((k) => histogram(k * 1000)),
          exemplars: [{ labels: { trace_id: 'abc' }, value: 0.5, timestamp: 1000 }],
        },
      ]);
      expect(result).toMatchObject({ status: 'success', counts: { samplesSent: 6 } });
      expect(receiver.requests).toHaveLength(2);
      const sent = receiver.requests.flatMap((r) => r.writeRequest!.timeseries);
      expect(sent.flatMap((t) => t.histograms ?? []).map((h) => h.timestamp)).toEqual([1000, 2000, 3000, 4000, 5000, 6000]);
      expect(sent[0]!.histograms![0]).toMatchObject({ count: 3, sum: 1.5, positiveDeltas: [1, 1], resetHint: 'no' });
      expect(sent[0]!.exemplars).toEqual([{ labels: { trace_id: 'abc' }, value: 0.5, timestamp: 1000 }]);
    });
  });

  describe('deadline and give-up', () => {
    it('answers retryable with the undelivered series in order once the deadline leaves no room', async () => {
      receiver.respond(() => ({ status: 503, body: 'down' }));
      const started = Date.now();
      const result = await client({ concurrency: 1, maxSamplesPerRequest: 2 }).write(many(3, 2), { deadline: Date.now() + 300 });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(result.status).toBe('retryable');
      if (result.status !== 'retryable') return;
      expect(result.error.code).toBe('PROM_RELAY_PUSH_RETRYABLE_STATUS');
      expect(result.counts.samplesPending).toBe(6);
      expect(result.undelivered.map((s) => s.labels['id'])).toEqual(['0', '1', '2']);
      // Only the first batch was tried: later batches of the shard wait behind it so order holds.
      expect(new Set(receiver.requests.map((r) => r.writeRequest!.timeseries[0]!.labels['id']))).toEqual(new Set(['0']));
    });

    it('ends each attempt at timeoutMs, a real deadline even when the receiver never answers', async () => {
      receiver.respond(() => ({ status: 204, delayMs: 3000 }));
      const started = Date.now();
      const result = await client({ timeoutMs: 100, retry: { ...FAST_RETRY, maxAttempts: 2 } }).write(many(1));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(result.status).toBe('retryable');
      expect(result.status === 'retryable' && result.error.code).toBe('PROM_RELAY_PUSH_TIMEOUT');
      expect(result.counts.requests).toBe(2);
    });

    it('stops at once when the caller aborts', async () => {
      receiver.respond(() => ({ status: 503 }));
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const result = await client({ concurrency: 1, retry: { minBackoffMs: 50, maxBackoffMs: 50 } }).write(many(2), { signal: controller.signal });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(result.status).toBe('retryable');
      expect(result.status === 'retryable' && result.error.code).toBe('PROM_RELAY_PUSH_ABORTED');
      expect(result.counts.samplesPending).toBe(2);
    });

    it('gives up after maxAttempts', async () => {
      receiver.respond(() => ({ status: 500 }));
      const result = await client({ concurrency: 1, retry: { ...FAST_RETRY, maxAttempts: 3 } }).write(many(1));
      expect(result.status).toBe('retryable');
      expect(result.counts).toMatchObject({ requests: 3, samplesRetried: 2, samplesPending: 1 });
    });
  });

  describe('metrics', () => {
    it('counts sent, failed, retried and dropped samples and request durations on the given registry', async () => {
      const registry = new Registry();
      let fails = 1;
      receiver.respond(() => (fails-- > 0 ? { status: 500 } : undefined));
      const c = client({ registry, concurrency: 1, name: 'main' });
      await c.write([...many(2), { labels: { job: 'no-name' }, samples: [{ value: 1, timestamp: 1 }] }, { labels: { __name__: 'd' }, samples: [{ value: 1, timestamp: 5 }, { value: 2, timestamp: 5 }] }]);
      const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels['remote'] === 'main')?.value;
      expect(await value('prom_relay_remote_write_samples_sent_total')).toBe(3);
      expect(await value('prom_relay_remote_write_samples_failed_total')).toBe(1);
      expect(await value('prom_relay_remote_write_samples_retried_total')).toBe(3);
      expect(await value('prom_relay_remote_write_samples_dropped_total')).toBe(1);
      expect(await value('prom_relay_remote_write_requests_in_flight')).toBe(0);
      const text = await registry.metrics();
      expect(text).toMatch(/prom_relay_remote_write_request_duration_seconds_count\{remote="main",code="500"\} 1/);
      expect(text).toMatch(/prom_relay_remote_write_request_duration_seconds_count\{remote="main",code="204"\} 1/);
      // A second client on the same registry shares the metrics under its own label.
      expect(() => client({ registry, name: 'other' })).not.toThrow();
    });
  });

  describe('asynchronous mode', () => {
    it('enqueue returns at once while the receiver is slow; flush waits for delivery', async () => {
      receiver.respond(() => ({ status: 204, delayMs: 100 }));
      const c = client({ concurrency: 2 });
      const started = performance.now();
      for (let i = 0; i < 50; i++) expect(c.enqueue(many(1, 1, `q${i}`))).toBe(true);
      expect(performance.now() - started).toBeLessThan(50);
      const drained = await c.flush(5000);
      expect(drained).toEqual({ drained: true, samplesRemaining: 0 });
      expect(receiver.acceptedSamples().size).toBe(50);
      expect(c.stats()).toMatchObject({ samplesSent: 50, samplesQueued: 0, samplesQueueDropped: 0 });
    });

    it('reports background writes that were not fully delivered through onResult', async () => {
      const results: WriteResult[] = [];
      receiver.respond((req) => (req.writeRequest!.timeseries.some((t) => t.labels['__name__'] === 'bad') ? { status: 400, body: 'out of bounds' } : undefined));
      const c = client({ concurrency: 1, queue: { onResult: (r) => results.push(r) } });
      c.enqueue([...many(3), { labels: { __name__: 'bad' }, samples: [{ value: 1, timestamp: 1 }] }, { labels: {}, samples: [{ value: 1, timestamp: 1 }] }]);
      await c.flush(5000);
      expect(results).toHaveLength(1);
      expect(results[0]!.status).toBe('failure');
      expect(results[0]!.rejected.map((r) => r.error.code).sort()).toEqual(['PROM_RELAY_PUSH_HTTP_STATUS', 'PROM_RELAY_PUSH_INVALID_SERIES']);
      expect(c.stats()).toMatchObject({ samplesSent: 3, samplesFailed: 2 });
    });

    it('drop-oldest keeps the newest samples within the limit and counts the drops', async () => {
      receiver.respond(() => ({ status: 503 }));
      const c = client({ queue: { maxSamples: 10, dropPolicy: 'drop-oldest' }, maxSamplesPerRequest: 1, concurrency: 1 });
      c.enqueue(many(1, 1, 'first')); // taken by the drain, stuck retrying
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 25; i++) expect(c.enqueue({ labels: { __name__: 'q', i: String(i) }, samples: [{ value: i, timestamp: 1 }] })).toBe(true);
      expect(c.stats()).toMatchObject({ samplesQueued: 10, samplesQueueDropped: 15 });
      // Evictions while the drain is stuck must not leave the queue's backing array growing.
      for (let i = 0; i < 5000; i++) c.enqueue({ labels: { __name__: 'filler' }, samples: [{ value: i, timestamp: i }] });
      expect((c as unknown as { queue: { entries: unknown[] } }).queue.entries.length).toBeLessThan(2100);
      for (let i = 0; i < 10; i++) c.enqueue({ labels: { __name__: 'q', i: String(i + 15) }, samples: [{ value: i, timestamp: 1 }] });
      receiver.respond(() => undefined);
      await c.flush(5000);
      const delivered = [...receiver.acceptedSamples().keys()].filter((k) => k.startsWith('q{')).sort();
      expect(delivered).toEqual(Array.from({ length: 10 }, (_, k) => `q{i="${k + 15}"}`).sort());
    });

    it('drop-newest refuses what does not fit and counts it', async () => {
      receiver.respond(() => ({ status: 503 }));
      const c = client({ queue: { maxSamples: 10, dropPolicy: 'drop-newest' }, maxSamplesPerRequest: 1, concurrency: 1 });
      c.enqueue(many(1, 1, 'first'));
      await new Promise((r) => setTimeout(r, 20));
      const accepted = Array.from({ length: 25 }, (_, i) => c.enqueue({ labels: { __name__: 'q', i: String(i) }, samples: [{ value: i, timestamp: 1 }] }));
      expect(accepted.filter(Boolean)).toHaveLength(10);
      expect(accepted.slice(0, 10).every(Boolean)).toBe(true);
      expect(c.stats()).toMatchObject({ samplesQueued: 10, samplesQueueDropped: 15 });
    });

    it('close waits up to its deadline, then aborts and reports what remained; later writes are refused', async () => {
      receiver.respond(() => ({ status: 503 }));
      const c = client({ concurrency: 1 });
      c.enqueue(many(5));
      const started = Date.now();
      const result = await c.close(200);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(result.drained).toBe(false);
      expect(result.samplesRemaining).toBe(5);
      expect(c.enqueue(many(1))).toBe(false);
      const late = await c.write(many(1));
      expect(late.status).toBe('failure');
      expect(late.status === 'failure' && late.error.code).toBe('PROM_RELAY_PUSH_CLOSED');
    });
  });
});
