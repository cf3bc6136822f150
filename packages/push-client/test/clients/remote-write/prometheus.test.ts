// Against a real Prometheus 2.42 with --web.enable-remote-write-receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus } from '@prom-relay/infra';
import type { PrometheusServer } from '@prom-relay/infra';
import { RemoteWriteClient } from '../../../src/index.js';
import type { WriteSeries } from '../../../src/index.js';

describe('RemoteWriteClient against Prometheus 2.42', () => {
  let prom: PrometheusServer;
  let client: RemoteWriteClient;
  const now = Date.now();
  beforeAll(async () => {
    prom = await startPrometheus();
    client = new RemoteWriteClient({ url: prom.remoteWriteUrl, concurrency: 2, retry: { minBackoffMs: 5, maxBackoffMs: 50, maxAttempts: 5 } });
  }, 60_000);
  afterAll(async () => {
    await client?.close(1000);
    await prom?.stop();
  });

  it('delivers samples that are then queried back exactly', async () => {
    const series: WriteSeries[] = Array.from({ length: 5 }, (_, i) => ({
      labels: { __name__: 'happy_rows_total', job: 'nightly', shard: String(i) },
      samples: [0, 1, 2].map((k) => ({ value: i * 10 + k, timestamp: now - 30_000 + k * 1000 })),
    }));
    const result = await client.write(series);
    expect(result).toMatchObject({ status: 'success', counts: { samplesSent: 15, samplesFailed: 0 } });
    const back = await prom.querySeries('happy_rows_total[5m]', now);
    expect(back).toHaveLength(5);
    for (const s of back) {
      const i = Number(s.labels['shard']);
      expect(s.labels).toMatchObject({ job: 'nightly' });
      expect(s.samples).toEqual([0, 1, 2].map((k) => ({ value: i * 10 + k, timestamp: now - 30_000 + k * 1000 })));
    }
  });

  it('splits a batch mixing good and out-of-order series: every good series lands, the bad ones are reported', async () => {
    const head = await client.write([
      { labels: { __name__: 'mixed_total', id: 'late-1' }, samples: [{ value: 1, timestamp: now - 10_000 }] },
      { labels: { __name__: 'mixed_total', id: 'late-2' }, samples: [{ value: 1, timestamp: now - 10_000 }] },
    ]);
    expect(head.status).toBe('success');
    const batch: WriteSeries[] = Array.from({ length: 30 }, (_, i) => ({ labels: { __name__: 'mixed_total', id: `good-${i}` }, samples: [{ value: i, timestamp: now - 5_000 }] }));
    batch.splice(7, 0, { labels: { __name__: 'mixed_total', id: 'late-1' }, samples: [{ value: 2, timestamp: now - 20_000 }] });
    batch.splice(21, 0, { labels: { __name__: 'mixed_total', id: 'late-2' }, samples: [{ value: 3, timestamp: now - 10_000 }] });
    const oneShard = new RemoteWriteClient({ url: prom.remoteWriteUrl, concurrency: 1 });
    const result = await oneShard.write(batch);
    await oneShard.close();
    expect(result.status).toBe('failure');
    expect(result.counts).toMatchObject({ samplesSent: 30, samplesFailed: 2 });
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.series.labels['id'], r.error]));
    expect(Object.keys(reasons).sort()).toEqual(['late-1', 'late-2']);
    expect(reasons['late-1']!.statusCode).toBe(400);
    expect(reasons['late-1']!.message).toMatch(/out of order sample/);
    expect(reasons['late-2']!.message).toMatch(/duplicate sample for timestamp/);
    const good = await prom.query('count(mixed_total{id=~"good-.*"})', now);
    expect(good[0]!.value).toBe(30);
    const late1 = await prom.querySeries('mixed_total{id="late-1"}[5m]', now);
    expect(late1[0]!.samples).toEqual([{ value: 1, timestamp: now - 10_000 }]);
  });

  it('sorts samples given newest-first, which 2.42 would otherwise half-drop with a 204', async () => {
    const result = await client.write([{ labels: { __name__: 'newest_first' }, samples: [{ value: 2, timestamp: now - 6_000 }, { value: 1, timestamp: now - 7_000 }] }]);
    expect(result.status).toBe('success');
    const back = await prom.querySeries('newest_first[5m]', now);
    expect(back[0]!.samples).toEqual([{ value: 1, timestamp: now - 7_000 }, { value: 2, timestamp: now - 6_000 }]);
  });

  it('never sends the label sets 2.42 answers 500 to (duplicate names, empty set): refused at once, the rest delivered', async () => {
    const oneShard = new RemoteWriteClient({ url: prom.remoteWriteUrl, concurrency: 1 });
    const result = await oneShard.write([
      { labels: [{ name: '__name__', value: 'dup_labels' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], samples: [{ value: 1, timestamp: now - 4_000 }] },
      { labels: {}, samples: [{ value: 1, timestamp: now - 4_000 }] },
      { labels: { __name__: 'beside_dup', job: 'x' }, samples: [{ value: 7, timestamp: now - 4_000 }] },
    ]);
    await oneShard.close();
    expect(result.status).toBe('failure');
    expect(result.rejected.map((r) => r.error.code)).toEqual(['PROM_RELAY_PUSH_INVALID_SERIES', 'PROM_RELAY_PUSH_INVALID_SERIES']);
    expect(result.counts).toMatchObject({ requests: 1, samplesSent: 1, samplesFailed: 2, samplesRetried: 0 });
    expect(await prom.query('beside_dup', now)).toEqual([expect.objectContaining({ value: 7 })]);
  });

  it('writes staleness markers that Prometheus honours', async () => {
    const t = now - 8_000;
    const result = await client.write([{ labels: { __name__: 'stale_gauge' }, samples: [{ value: 4, timestamp: t }, { value: NaN, timestamp: t + 1000, stale: true }] }]);
    expect(result.status).toBe('success');
    expect(await prom.query('stale_gauge', t + 500)).toEqual([expect.objectContaining({ value: 4 })]);
    expect(await prom.query('stale_gauge', t + 1500)).toEqual([]);
  });

  it('in auto mode detects that 2.42 speaks only v1 and still delivers', async () => {
    const auto = new RemoteWriteClient({ url: prom.remoteWriteUrl, protocol: 'auto' });
    const result = await auto.write([{ labels: { __name__: 'auto_proto', job: 'x' }, samples: [{ value: 42, timestamp: now - 3000 }] }]);
    await auto.close();
    expect(result.status).toBe('success');
    expect(auto.stats().protocol).toBe('v1');
    expect(await prom.query('auto_proto', now)).toEqual([expect.objectContaining({ value: 42 })]);
  });
});
