// Protocol negotiation against real receivers: Prometheus 2.42 and VictoriaMetrics v1.151 read a 2.0 body as an empty
// 1.0 request and answer 204 without X-Prometheus-Remote-Write-Samples-Written; Prometheus 3.16 speaks 2.0, or answers
// 415 when it accepts only 1.0. `auto` must fall back exactly once and lose or duplicate nothing; fixed `v2` must
// report the 204 as a failure, never as samples sent.
import { startPrometheus, startPrometheus3, startVictoriaMetrics } from '@prom-relay/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../../src/index.js';
import type { ProtocolFallback, WriteSeries } from '../../../src/index.js';

interface Receiver {
  remoteWriteUrl: string;
  query(q: string, t?: number): Promise<{ labels: Record<string, string>; value: number }[]>;
  /** samples the receiver says it stored (its own /metrics) */
  stored(): Promise<number>;
  stop(): Promise<void>;
}

async function metricSum(url: string, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(filter))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  // Prometheus 3 and VictoriaMetrics are built once per machine (minutes, started by the root globalSetup).
  const [p2, p3, p3v1, vm] = await Promise.all([startPrometheus(), startPrometheus3(), startPrometheus3({ acceptedMessages: ['v1'] }), startVictoriaMetrics()]);
  const prom = (p: typeof p2): Receiver => ({ ...p, remoteWriteUrl: p.remoteWriteUrl, query: p.query, stored: () => metricSum(p.url, 'prometheus_tsdb_head_samples_appended_total'), stop: () => p.stop() });
  receivers['Prometheus 2.42'] = prom(p2);
  receivers['Prometheus 3'] = prom(p3);
  receivers['Prometheus 3 (1.0 only)'] = prom(p3v1);
  receivers['VictoriaMetrics'] = { remoteWriteUrl: vm.remoteWriteUrl, query: vm.query, stored: () => metricSum(vm.url, 'vm_rows_inserted_total', 'type="promremotewrite"'), stop: () => vm.stop() };
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(Object.values(receivers).map((r) => r.stop()));
});

/** 40 series over 4 shards, at most 5 samples per request: about 8 requests that would all start at once. */
function batch(metric: string, now: number, ago = 2000): WriteSeries[] {
  return Array.from({ length: 40 }, (_, i) => ({ labels: { __name__: metric, i: String(i) }, samples: [{ value: i + 0.5, timestamp: now - ago }] }));
}

/** What the receiver stored since `before`, once its count settles (VictoriaMetrics's /metrics lags about 1 s). */
async function storedSince(receiver: Receiver, before: number, expected: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  while ((await receiver.stored()) - before < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // Anything stored twice would show by now too.
  await new Promise((r) => setTimeout(r, 1_500));
  return (await receiver.stored()) - before;
}

async function sumOf(receiver: Receiver, metric: string, now: number): Promise<number> {
  const v = await receiver.query(`sum(${metric})`, now);
  return v[0]?.value ?? 0;
}

describe.each([
  ['Prometheus 2.42', 'not_written', 204],
  ['VictoriaMetrics', 'not_written', 204],
  ['Prometheus 3 (1.0 only)', 'unsupported_media_type', 415],
] as const)('%s (1.0 only)', (name, reason, statusCode) => {
  it('auto: one v2 request, one fallback, every sample stored once as v1', async () => {
    const receiver = receivers[name]!;
    const now = Date.now();
    const metric = `pc_auto_${reason}_${name.replace(/\W+/g, '_')}`.toLowerCase();
    const storedBefore = await receiver.stored();
    const fallbacks: ProtocolFallback[] = [];
    const client = new RemoteWriteClient({ url: receiver.remoteWriteUrl, protocol: 'auto', concurrency: 4, maxSamplesPerRequest: 5, onFallback: (e) => fallbacks.push(e) });
    const first = await client.write(batch(metric, now));
    // The same series a second later: the same shards and batches, now all v1 from the start.
    const second = await client.write(batch(metric, now, 1000));
    await client.close();
    expect(first).toMatchObject({ status: 'success', counts: { samplesSent: 40, samplesFailed: 0 } });
    expect(second).toMatchObject({ status: 'success', counts: { samplesSent: 40 } });
    // The same batches as the second write, plus the one v2 request that found out.
    expect(first.counts.requests).toBe(second.counts.requests + 1);
    expect(fallbacks).toEqual([{ from: 'v2', to: 'v1', reason, statusCode, samplesResent: expect.any(Number) }]);
    expect(client.stats()).toMatchObject({ protocol: 'v1', fallbacks: 1, samplesSent: 80 });
    expect(await sumOf(receiver, metric, now)).toBe(800);
    expect(await storedSince(receiver, storedBefore, 80)).toBe(80);
  });

  it('fixed v2: a failure with the cause, nothing counted as sent', async () => {
    const receiver = receivers[name]!;
    const now = Date.now();
    const metric = `pc_v2_${name.replace(/\W+/g, '_')}`.toLowerCase();
    const client = new RemoteWriteClient({ url: receiver.remoteWriteUrl, protocol: 'v2', concurrency: 2 });
    const result = await client.write(batch(metric, now));
    await client.close();
    expect(result).toMatchObject({ status: 'failure', counts: { samplesSent: 0, samplesFailed: 40 } });
    const codes = new Set(result.rejected.map((r) => r.error.code));
    expect(codes).toEqual(new Set([statusCode === 415 ? 'PROM_RELAY_PUSH_HTTP_STATUS' : 'PROM_RELAY_PUSH_NOT_WRITTEN']));
    expect(result.rejected[0]!.error.statusCode).toBe(statusCode);
    expect(await sumOf(receiver, metric, now)).toBe(0);
  });
});

describe('Prometheus 3 (1.0 and 2.0)', () => {
  it('auto stays on v2 (no fallback) and v2 counts what the receiver says it wrote', async () => {
    const receiver = receivers['Prometheus 3']!;
    const now = Date.now();
    const storedBefore = await receiver.stored();
    const fallbacks: ProtocolFallback[] = [];
    const auto = new RemoteWriteClient({ url: receiver.remoteWriteUrl, protocol: 'auto', concurrency: 4, maxSamplesPerRequest: 5, onFallback: (e) => fallbacks.push(e) });
    const a = await auto.write(batch('pc_p3_auto', now));
    await auto.close();
    const v2 = new RemoteWriteClient({ url: receiver.remoteWriteUrl, protocol: 'v2', concurrency: 4, maxSamplesPerRequest: 5 });
    const b = await v2.write(batch('pc_p3_v2', now));
    await v2.close();
    expect(a).toMatchObject({ status: 'success', counts: { samplesSent: 40, samplesFailed: 0 } });
    expect(b).toMatchObject({ status: 'success', counts: { samplesSent: 40, samplesFailed: 0 } });
    expect(fallbacks).toEqual([]);
    expect(auto.stats()).toMatchObject({ protocol: 'v2', fallbacks: 0 });
    expect(await sumOf(receiver, 'pc_p3_auto', now)).toBe(800);
    expect(await sumOf(receiver, 'pc_p3_v2', now)).toBe(800);
    expect(await storedSince(receiver, storedBefore, 80)).toBe(80);
  });
});
