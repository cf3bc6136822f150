import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../../src/index.js';
import type { WriteSeries } from '../../../src/index.js';
import { startTestReceiver } from '../../../src/testing/index.js';
import type { ReceivedRequest, TestReceiver } from '../../../src/testing/index.js';

const series: WriteSeries[] = [
  { labels: { __name__: 'jobs_total', job: 'a' }, samples: [{ value: 1, timestamp: 1000 }, { value: 2, timestamp: 2000 }] },
  { labels: { __name__: 'up', job: 'a' }, samples: [{ value: 1, timestamp: 1000 }] },
];

/** Answers like a v2 receiver: the written-count headers on success. */
const v2Receiver = (req: ReceivedRequest) => {
  if (req.protocol !== 'v2') return undefined;
  const n = req.writeRequest!.timeseries.reduce((k, t) => k + t.samples.length, 0);
  return { status: 204, headers: { 'X-Prometheus-Remote-Write-Samples-Written': String(n), 'X-Prometheus-Remote-Write-Histograms-Written': '0' } };
};

describe('RemoteWriteClient protocol versions', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterEach(() => {
    receiver.respond(() => undefined);
    receiver.requests.length = 0;
  });
  afterAll(() => receiver.close());

  it('v2 sends the v2 content type and version header, with a body the v2 decoder reads back', async () => {
    receiver.respond(v2Receiver);
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1 });
    const result = await client.write(series);
    await client.close();
    expect(result.status).toBe('success');
    const req = receiver.requests[0]!;
    expect(req.headers['content-type']).toBe('application/x-protobuf;proto=io.prometheus.write.v2.Request');
    expect(req.headers['x-prometheus-remote-write-version']).toBe('2.0.0');
    expect(req.headers['content-encoding']).toBe('snappy');
    expect(req.protocol).toBe('v2');
    expect(req.writeRequest!.timeseries.map((t) => t.labels)).toEqual(series.map((s) => s.labels));
  });

  it('auto falls back to v1 on 415 and remembers it', async () => {
    receiver.respond((req) => (req.protocol === 'v2' ? { status: 415, body: 'unsupported' } : undefined));
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 1 });
    expect(client.stats().protocol).toBe('v2');
    const first = await client.write(series);
    const second = await client.write([{ labels: { __name__: 'up', job: 'b' }, samples: [{ value: 1, timestamp: 1 }] }]);
    await client.close();
    expect(first.status).toBe('success');
    expect(second.status).toBe('success');
    expect(receiver.requests.map((r) => r.protocol)).toEqual(['v2', 'v1', 'v1']);
    expect(client.stats().protocol).toBe('v1');
    expect(first.counts.samplesSent).toBe(3);
  });

  it('auto stays on v2 with a receiver that answers the written counts', async () => {
    receiver.respond(v2Receiver);
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 1 });
    await client.write(series);
    await client.write(series.map((s) => ({ ...s, samples: s.samples!.map((x) => ({ ...x, timestamp: x.timestamp + 10_000 })) })));
    await client.close();
    expect(receiver.requests.map((r) => r.protocol)).toEqual(['v2', 'v2']);
  });

  it('auto treats a 2xx without the v2 written-count headers as a v1-only receiver and resends as v1', async () => {
    // A 1.0 receiver decodes a v2 body as an empty v1 request and answers 204: the samples would be lost.
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 1 });
    const result = await client.write(series);
    await client.close();
    expect(result.status).toBe('success');
    expect(receiver.requests.map((r) => r.protocol)).toEqual(['v2', 'v1']);
    expect(receiver.requests[1]!.writeRequest!.timeseries).toHaveLength(2);
  });

  it('auto with concurrent shards sends ONE v2 request to a 1.0-only receiver, then every batch once as v1', async () => {
    const many: WriteSeries[] = Array.from({ length: 40 }, (_, i) => ({ labels: { __name__: 'many_total', i: String(i) }, samples: [{ value: i, timestamp: 1000 }] }));
    const fallbacks: unknown[] = [];
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 4, maxSamplesPerRequest: 5, onFallback: (e) => fallbacks.push(e) });
    const result = await client.write(many);
    await client.close();
    expect(result.status).toBe('success');
    expect(result.counts.samplesSent).toBe(40);
    expect(receiver.requests.filter((r) => r.protocol === 'v2')).toHaveLength(1);
    const v1Series = receiver.requests.filter((r) => r.protocol === 'v1').flatMap((r) => r.writeRequest!.timeseries.map((t) => t.labels['i']));
    expect(v1Series.sort()).toEqual(many.map((s) => (s.labels as Record<string, string>)['i']).sort());
    expect(client.stats()).toMatchObject({ protocol: 'v1', fallbacks: 1 });
    expect(fallbacks).toEqual([{ from: 'v2', to: 'v1', reason: 'not_written', statusCode: 204, samplesResent: expect.any(Number) }]);
  });

  it('auto reports a 415 fallback with its reason and keeps the protocol for later writes', async () => {
    receiver.respond((req) => (req.protocol === 'v2' ? { status: 415 } : undefined));
    const reasons: string[] = [];
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 2, onFallback: (e) => reasons.push(`${e.reason}:${e.statusCode}`) });
    await client.write(series);
    await client.write([{ labels: { __name__: 'later' }, samples: [{ value: 1, timestamp: 5 }] }]);
    await client.close();
    expect(reasons).toEqual(['unsupported_media_type:415']);
    expect(client.stats().fallbacks).toBe(1);
  });

  it('fixed v2 reports a 2xx without the written-count headers as a failure: nothing counted as sent', async () => {
    // What Prometheus 2.42 and VictoriaMetrics answer to a 2.0 body: 204, no headers, nothing stored.
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1 });
    const result = await client.write(series);
    await client.close();
    expect(result.status).toBe('failure');
    expect(result.counts).toMatchObject({ samplesSent: 0, samplesFailed: 3, requests: 1 });
    const error = result.status === 'failure' ? result.error : undefined;
    expect(error?.code).toBe('PROM_RELAY_PUSH_NOT_WRITTEN');
    expect(error?.message).toMatch(/204 to a Remote Write 2\.0 request without X-Prometheus-Remote-Write-Samples-Written/);
    expect(result.rejected).toHaveLength(2);
    expect(client.stats()).toMatchObject({ protocol: 'v2', fallbacks: 0, samplesSent: 0 });
  });

  it('v2 and auto fail a 2xx whose headers count nothing written (no fallback: the receiver speaks 2.0)', async () => {
    receiver.respond((req) =>
      req.protocol === 'v2' ? { status: 200, headers: { 'X-Prometheus-Remote-Write-Samples-Written': '0', 'X-Prometheus-Remote-Write-Histograms-Written': '' } } : undefined,
    );
    for (const protocol of ['v2', 'auto'] as const) {
      receiver.requests.length = 0;
      const client = new RemoteWriteClient({ url: receiver.url, protocol, concurrency: 1 });
      const result = await client.write(series);
      await client.close();
      expect(result.status).toBe('failure');
      expect(result.counts).toMatchObject({ samplesSent: 0, samplesFailed: 3 });
      expect(result.rejected[0]!.error.message).toMatch(/say nothing was written/);
      expect(receiver.requests.map((r) => r.protocol)).toEqual(['v2']);
      expect(client.stats()).toMatchObject({ protocol: 'v2', fallbacks: 0 });
    }
  });

  it('auto keeps probing one request at a time while the answers teach nothing (5xx), then settles', async () => {
    let failures = 2;
    receiver.respond((req) => {
      if (req.protocol === 'v2' && failures > 0) {
        failures--;
        return { status: 503 };
      }
      return v2Receiver(req);
    });
    const client = new RemoteWriteClient({ url: receiver.url, protocol: 'auto', concurrency: 3, retry: { minBackoffMs: 1, maxBackoffMs: 2 } });
    const many: WriteSeries[] = Array.from({ length: 12 }, (_, i) => ({ labels: { __name__: 'probe_total', i: String(i) }, samples: [{ value: i, timestamp: 1000 }] }));
    const result = await client.write(many);
    await client.close();
    expect(result).toMatchObject({ status: 'success', counts: { samplesSent: 12 } });
    expect(receiver.requests.every((r) => r.protocol === 'v2')).toBe(true);
    expect(client.stats()).toMatchObject({ protocol: 'v2', fallbacks: 0 });
  });

  it('sends metadata: v1 with the families of each request, v2 attached to the series of the family', async () => {
    const metadata = [
      { metricFamilyName: 'jobs', type: 'counter' as const, help: 'Jobs done.' },
      { metricFamilyName: 'up', type: 'gauge' as const },
      { metricFamilyName: 'absent', type: 'gauge' as const },
    ];
    const v1 = new RemoteWriteClient({ url: receiver.url, concurrency: 1 });
    await v1.write(series, { metadata });
    await v1.close();
    const v1Meta = receiver.requests[0]!.writeRequest!.metadata!;
    expect(v1Meta.map((m) => m.metricFamilyName).sort()).toEqual(['jobs', 'up']);
    expect(v1Meta.find((m) => m.metricFamilyName === 'jobs')).toMatchObject({ type: 'counter', help: 'Jobs done.' });

    receiver.respond(v2Receiver);
    const v2 = new RemoteWriteClient({ url: receiver.url, protocol: 'v2', concurrency: 1 });
    await v2.write(series, { metadata });
    await v2.close();
    const v2Meta = receiver.requests[1]!.writeRequest!.metadata!;
    expect(v2Meta.map((m) => [m.metricFamilyName, m.type]).sort()).toEqual([['jobs_total', 'counter'], ['up', 'gauge']].sort());
  });

  it('v1 is the default', async () => {
    const client = new RemoteWriteClient({ url: receiver.url });
    await client.write(series);
    await client.close();
    expect(receiver.requests.every((r) => r.protocol === 'v1')).toBe(true);
  });
});
