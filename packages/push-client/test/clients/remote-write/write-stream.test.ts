// RemoteWriteClient.writeStream: a write fed in parts sends the same requests as one write() of all the parts, holds
// back its caller while `concurrency` requests are under way, and handles faults as write() does. The receiver is the
// package's fault-injecting test receiver (5xx, chosen 400s and delays a real server does not produce on demand).
import { beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../../src/index.js';
import type { WriteSeries } from '../../../src/index.js';
import type { TestReceiver } from '../../../src/testing/index.js';
import { receiverFixture } from './fixture.js';

describe('RemoteWriteClient.writeStream', () => {
  const fx = receiverFixture();
  const client = fx.client;
  let receiver: TestReceiver;
  beforeAll(() => {
    receiver = fx.receiver;
  });

  const many = (n: number, samplesEach = 1, name = 'm'): WriteSeries[] =>
    Array.from({ length: n }, (_, i) => ({
      labels: { __name__: name, id: String(i) },
      samples: Array.from({ length: samplesEach }, (_, k) => ({ value: i + k, timestamp: 1000 * (k + 1) })),
    }));

  async function streamed(c: RemoteWriteClient, series: WriteSeries[], part: number) {
    const stream = c.writeStream();
    for (let i = 0; i < series.length; i += part) await stream.add(series.slice(i, i + part));
    return stream.end();
  }

  it('sends the very requests one write() of all the parts sends, in the same order per shard', async () => {
    // Unsorted labels, an invalid series and a series longer than a request go through the same preparation.
    const series: WriteSeries[] = [
      ...many(23),
      { labels: { id: 'late', __name__: 'm' }, samples: [{ value: 1, timestamp: 5 }] },
      { labels: { __name__: 'bad name', id: 'x' }, samples: [{ value: 1, timestamp: 5 }] },
      ...many(2, 9, 'long'),
      ...many(11, 1, 'n'),
    ];
    for (const concurrency of [1, 3]) {
      const options = { concurrency, maxSamplesPerRequest: 4 };
      const whole = await client(options).write(series);
      const wholeBodies = receiver.requests.splice(0).map((r) => r.body.toString('base64'));
      const parts = await streamed(client(options), series, 5);
      const partBodies = receiver.requests.splice(0).map((r) => r.body.toString('base64'));
      expect(parts.counts).toEqual(whole.counts);
      expect(parts.status).toBe('failure');
      expect(parts.rejected.map((r) => r.series.labels['__name__'])).toEqual(['bad name']);
      expect(whole.counts.samplesSent).toBe(23 + 1 + 18 + 11);
      if (concurrency === 1) expect(partBodies).toEqual(wholeBodies);
      else expect([...partBodies].sort()).toEqual([...wholeBodies].sort());
    }
  });

  it('holds its caller while concurrency requests are under way', async () => {
    receiver.respond(() => ({ status: 204, delayMs: 150 }));
    const stream = client({ concurrency: 1, maxSamplesPerRequest: 2 }).writeStream();
    await stream.add(many(4));
    // Two requests made; add() came back only once the first was answered and the second is the only one under way.
    expect(receiver.requests.filter((r) => r.status !== undefined).length).toBeGreaterThanOrEqual(1);
    await stream.add(many(2, 1, 'more'));
    const result = await stream.end();
    expect(result).toMatchObject({ status: 'success', counts: { samplesSent: 6, requests: 3 } });
  });

  it('gives up at the deadline as write() does: later requests of the shard wait, the undelivered series come back in order', async () => {
    receiver.respond(() => ({ status: 503, body: 'down' }));
    const stream = client({ concurrency: 1, maxSamplesPerRequest: 2 }).writeStream({ deadline: Date.now() + 300 });
    const started = Date.now();
    await stream.add(many(3, 2));
    await stream.add(many(2, 1, 'more'));
    const result = await stream.end();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.status).toBe('retryable');
    if (result.status !== 'retryable') return;
    expect(result.counts.samplesPending).toBe(8);
    expect(result.undelivered.map((s) => `${s.labels['__name__']}${s.labels['id']}`)).toEqual(['m0', 'm1', 'm2', 'more0', 'more1']);
    expect(new Set(receiver.requests.map((r) => r.writeRequest!.timeseries[0]!.labels['id']))).toEqual(new Set(['0']));
  });

  it('splits a request the receiver refuses with 400 and delivers the good series', async () => {
    receiver.respond((r) => (r.writeRequest?.timeseries.some((t) => t.labels['id'] === '3') ? { status: 400, body: 'out of order sample' } : undefined));
    const result = await streamed(client({ concurrency: 2, maxSamplesPerRequest: 3 }), many(10), 4);
    expect(result.status).toBe('failure');
    expect(result.counts).toMatchObject({ samplesSent: 9, samplesFailed: 1 });
    expect(result.rejected.map((r) => r.series.labels['id'])).toEqual(['3']);
    expect([...receiver.acceptedSamples().keys()].length).toBe(9);
  });

  it('refuses parts after close() and after end()', async () => {
    const c = client();
    const stream = c.writeStream();
    await c.close(100);
    await stream.add(many(2));
    const result = await stream.end();
    expect(result).toMatchObject({ status: 'failure', counts: { samplesFailed: 2, samplesSent: 0 } });
    expect(result.status === 'failure' && result.error.code).toBe('PROM_RELAY_PUSH_CLOSED');
    await expect(stream.add(many(1))).rejects.toThrow(/after end/);
    expect(receiver.requests).toHaveLength(0);
  });
});
