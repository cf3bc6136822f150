// Remote Write 1.0 sender compliance cases that apply to a client, against the fault-injecting receiver.
import { beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../../src/index.js';
import type { WriteSeries } from '../../../src/index.js';
import { USER_AGENT } from '../../../src/version.js';
import type { TestReceiver } from '../../../src/testing/index.js';
import { FAST_RETRY, receiverFixture } from './fixture.js';

describe('RemoteWriteClient sender compliance (RW 1.0)', () => {
  const fx = receiverFixture({ path: '/api/v1/prom/write', closeMs: 100 });
  const client = fx.client;
  let receiver: TestReceiver;
  beforeAll(() => {
    receiver = fx.receiver;
  });

  const one = (labels: WriteSeries['labels'], value = 1, timestamp = 1_700_000_000_000): WriteSeries => ({ labels, samples: [{ value, timestamp }] });

  it('sends the required headers to any path, and user headers beside them', async () => {
    const result = await client({ headers: { 'X-Scope-OrgID': 'team-a' } }).write([one({ __name__: 'up' })]);
    expect(result.status).toBe('success');
    const { headers, url } = receiver.requests[0]!;
    expect(url).toBe('/api/v1/prom/write');
    expect(headers['content-encoding']).toBe('snappy');
    expect(headers['content-type']).toBe('application/x-protobuf');
    expect(headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(headers['user-agent']).toBe(USER_AGENT);
    expect(headers['x-scope-orgid']).toBe('team-a');
  });

  it('refuses user headers that would override protocol headers, naming them', () => {
    expect(() => client({ headers: { 'content-type': 'text/plain' } })).toThrow(/headers\.content-type.*set by the protocol/);
  });

  it('sends labels sorted by name', async () => {
    await client().write([one({ zone: 'a', __name__: 'up', job: 'j', instance: 'i' })]);
    const labels = receiver.requests[0]!.writeRequest!.timeseries[0]!.labels;
    expect(Object.keys(labels)).toEqual(['__name__', 'instance', 'job', 'zone']);
  });

  it('refuses a label set with a repeated name before sending; the other series still go', async () => {
    const result = await client().write([
      one([{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }, { name: 'job', value: 'b' }]),
      one({ __name__: 'up', job: 'ok' }),
    ]);
    expect(result.status).toBe('failure');
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.error.code).toBe('PROM_RELAY_PUSH_INVALID_SERIES');
    expect(result.rejected[0]!.error.message).toMatch(/repeated label name "job"/);
    const sent = receiver.requests.flatMap((r) => r.writeRequest!.timeseries.map((t) => t.labels));
    expect(sent).toEqual([{ __name__: 'up', job: 'ok' }]);
    expect(result.counts).toMatchObject({ samplesSent: 1, samplesFailed: 1 });
  });

  it('drops labels with empty values', async () => {
    await client().write([one({ __name__: 'up', empty: '', job: 'j' })]);
    expect(receiver.requests[0]!.writeRequest!.timeseries[0]!.labels).toEqual({ __name__: 'up', job: 'j' });
  });

  it('requires __name__ and never sends an empty or invalid label set', async () => {
    const result = await client().write([one({ job: 'j' }), one({}), one({ __name__: 'up', 'bad-name': 'x' }), one({ __name__: '0up' })]);
    expect(result.status).toBe('failure');
    expect(result.rejected.map((r) => r.error.code)).toEqual(Array(4).fill('PROM_RELAY_PUSH_INVALID_SERIES'));
    expect(result.rejected[0]!.error.message).toMatch(/__name__/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('sends nothing for a series without samples', async () => {
    const result = await client().write([{ labels: { __name__: 'empty' }, samples: [] }]);
    expect(result).toMatchObject({ status: 'success', counts: { requests: 0, samplesSent: 0 } });
    expect(receiver.requests).toHaveLength(0);
  });

  it('writes the staleness marker with its exact bits', async () => {
    await client().write([{ labels: { __name__: 'up' }, samples: [{ value: NaN, timestamp: 1000, stale: true }, { value: NaN, timestamp: 2000 }] }]);
    const { raw, writeRequest } = receiver.requests[0]!;
    const stale = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    expect(Buffer.from(raw!).indexOf(stale)).toBeGreaterThan(0);
    const [marker, plainNaN] = writeRequest!.timeseries[0]!.samples;
    expect(marker!.stale).toBe(true);
    expect(plainNaN!.stale ?? false).toBe(false);
    expect(Number.isNaN(plainNaN!.value)).toBe(true);
  });

  it('sends samples of a series in timestamp order; a repeated timestamp keeps its last value', async () => {
    const result = await client().write([
      { labels: { __name__: 'up' }, samples: [{ value: 3, timestamp: 3000 }, { value: 1, timestamp: 1000 }, { value: 2, timestamp: 2000 }] },
      { labels: { __name__: 'up' }, samples: [{ value: 0.5, timestamp: 500 }, { value: 9, timestamp: 2000 }] },
    ]);
    expect(result.counts).toMatchObject({ samplesSent: 4, samplesDropped: 1 });
    const samples = receiver.requests[0]!.writeRequest!.timeseries[0]!.samples;
    expect(samples.map((s) => [s.timestamp, s.value])).toEqual([[500, 0.5], [1000, 1], [2000, 9], [3000, 3]]);
  });

  it('keeps each series in strict timestamp order under concurrency with a receiver answering after random delays', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    receiver.respond(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      inFlight--;
      return { status: 204 };
    });
    const c = client({ concurrency: 4, maxSamplesPerRequest: 7 });
    const seriesCount = 40;
    const rounds = 12;
    const writes = [];
    for (let round = 0; round < rounds; round++) {
      const batch: WriteSeries[] = [];
      for (let i = 0; i < seriesCount; i++) {
        batch.push({ labels: { __name__: 'jobs_total', shard: String(i) }, samples: [{ value: round, timestamp: 1000 * (round * 2 + 1) }, { value: round, timestamp: 1000 * (round * 2 + 2) }] });
      }
      writes.push(c.write(batch)); // not awaited one by one: the calls overlap
    }
    const results = await Promise.all(writes);
    expect(results.every((r) => r.status === 'success')).toBe(true);
    expect(maxInFlight).toBeGreaterThan(1);
    const accepted = receiver.acceptedSamples();
    expect(accepted.size).toBe(seriesCount);
    for (const [, samples] of accepted) {
      const ts = samples.map((s) => s.timestamp);
      expect(ts).toHaveLength(rounds * 2);
      for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
    }
  });

  it('retries a 500 until delivered, counting retried samples', async () => {
    let failures = 5;
    receiver.respond(() => (failures-- > 0 ? { status: 500, body: 'storage busy' } : undefined));
    const result = await client({ concurrency: 1 }).write([one({ __name__: 'up', a: '1' }), one({ __name__: 'up', a: '2' })]);
    expect(result.status).toBe('success');
    expect(result.counts).toMatchObject({ samplesSent: 2, samplesRetried: 10, requests: 6 });
    expect(receiver.acceptedSamples().size).toBe(2);
  });

  it('never retries a 400', async () => {
    receiver.respond(() => ({ status: 400, body: 'out of bounds' }));
    const result = await client({ splitRejectedBatches: false, concurrency: 1 }).write([one({ __name__: 'up', a: '1' }), one({ __name__: 'up', a: '2' })]);
    expect(receiver.requests).toHaveLength(1);
    expect(result.status).toBe('failure');
    expect(result.rejected).toHaveLength(2);
    expect(result.rejected[0]!.error).toMatchObject({ code: 'PROM_RELAY_PUSH_HTTP_STATUS', statusCode: 400, responseBody: 'out of bounds' });
    expect(result.counts).toMatchObject({ samplesFailed: 2, samplesRetried: 0, requests: 1 });
  });

  it('honours 429 with Retry-After, and treats 429 as final when retryOn429 is off', async () => {
    let first = true;
    receiver.respond(() => {
      if (!first) return undefined;
      first = false;
      return { status: 429, headers: { 'Retry-After': '1' } };
    });
    const result = await client().write([one({ __name__: 'up' })]);
    expect(result.status).toBe('success');
    const [a, b] = receiver.requests;
    expect(b!.receivedAt - a!.receivedAt).toBeGreaterThanOrEqual(950);

    receiver.requests.length = 0;
    receiver.respond(() => ({ status: 429 }));
    const refused = await client({ retry: { ...FAST_RETRY, retryOn429: false } }).write([one({ __name__: 'up' })]);
    expect(refused.status).toBe('failure');
    expect(receiver.requests).toHaveLength(1);
  });
});
