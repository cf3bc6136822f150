// Prometheus 2.42 fails a whole request with 400 for one bad series; the client must still land the good ones.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../src/index.js';
import type { WriteSeries } from '../../src/index.js';
import { startTestReceiver } from '../../src/testing/index.js';
import type { ReceivedRequest, TestReceiver } from '../../src/testing/index.js';

describe('a batch rejected with 400 is split to deliver every good series', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterEach(() => {
    receiver.requests.length = 0;
  });
  afterAll(() => receiver.close());

  // Like Prometheus: the whole request fails when any series in it is bad; a bad sample is one with value < 0.
  const rejectWhole = (req: ReceivedRequest) =>
    req.writeRequest!.timeseries.some((t) => t.samples.some((s) => s.value < 0)) ? { status: 400, body: 'out of order sample' } : undefined;

  const series = (n: number, bad: Set<number>): WriteSeries[] =>
    Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'rows_total', id: String(i) }, samples: [{ value: bad.has(i) ? -1 : i, timestamp: 1000 }] }));

  it('delivers every good series and reports each bad one with the receiver message', async () => {
    receiver.respond(rejectWhole);
    const client = new RemoteWriteClient({ url: receiver.url, concurrency: 1, retry: { minBackoffMs: 1, maxBackoffMs: 5 } });
    const result = await client.write(series(100, new Set([3, 77])));
    await client.close();
    expect(result.status).toBe('failure');
    expect(result.rejected.map((r) => r.series.labels['id']).sort()).toEqual(['3', '77']);
    expect(result.rejected[0]!.error.message).toContain('out of order sample');
    expect(result.rejected[0]!.error.statusCode).toBe(400);
    expect(result.counts).toMatchObject({ samplesSent: 98, samplesFailed: 2, samplesRetried: 0 });
    expect(receiver.acceptedSamples().size).toBe(98);
    // Bisecting finds two bad series among 100 in far fewer requests than one per series.
    expect(receiver.requests.length).toBeLessThan(30);
  });

  it('splits a lone series by samples: its good samples after the bad one still land, in order', async () => {
    receiver.respond(rejectWhole);
    const client = new RemoteWriteClient({ url: receiver.url, concurrency: 1 });
    const samples = [1, 2, -3, 4, 5].map((value, i) => ({ value, timestamp: 1000 * (i + 1) }));
    const result = await client.write([{ labels: { __name__: 'x' }, samples }]);
    await client.close();
    expect(result.counts).toMatchObject({ samplesSent: 4, samplesFailed: 1 });
    expect(result.rejected[0]!.series.samples).toEqual([{ value: -3, timestamp: 3000 }]);
    const accepted = [...receiver.acceptedSamples().values()][0]!;
    expect(accepted.map((s) => s.timestamp)).toEqual([1000, 2000, 4000, 5000]);
  });

  it('stops splitting at maxSplitRequests and reports the rest as rejected', async () => {
    receiver.respond(() => ({ status: 400, body: 'bad request' }));
    const client = new RemoteWriteClient({ url: receiver.url, concurrency: 1, maxSplitRequests: 4 });
    const result = await client.write(series(64, new Set()));
    await client.close();
    expect(receiver.requests.length).toBe(5);
    expect(result.counts.samplesFailed).toBe(64);
    expect(result.rejected).toHaveLength(64);
  });
});
