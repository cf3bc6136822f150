// Our RW 2.0 bodies (start timestamps included) POSTed to real receivers: Prometheus 3.16, which speaks 2.0, and
// VictoriaMetrics v1.151, which does not (it reads a 2.0 body as an empty 1.0 request). Prometheus 3 runs with
// created-timestamp-zero-ingestion: a start timestamp becomes a zero sample at that time, which shows where the
// encoder put it.
import { startPrometheus3, startVictoriaMetrics } from '@prom-relay/infra';
import type { PrometheusServer, VictoriaMetricsServer } from '@prom-relay/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequestSnappy, encodeWriteRequestV2Snappy } from '../../src/index.js';
import type { Histogram, WriteRequest } from '../../src/index.js';

let prom: PrometheusServer;
let vm: VictoriaMetricsServer;

beforeAll(async () => {
  // The first run on a machine builds both (minutes); the root globalSetup starts those builds at the beginning.
  [prom, vm] = await Promise.all([startPrometheus3({ features: ['created-timestamp-zero-ingestion'] }), startVictoriaMetrics()]);
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all([prom?.stop(), vm?.stop()]);
});

async function postV2(url: string, req: WriteRequest): Promise<{ status: number; samples: string | null; histograms: string | null; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'X-Prometheus-Remote-Write-Version': '2.0.0',
      'User-Agent': 'prom-relay-codec-test',
    },
    body: encodeWriteRequestV2Snappy(req),
  });
  return {
    status: res.status,
    samples: res.headers.get('X-Prometheus-Remote-Write-Samples-Written'),
    histograms: res.headers.get('X-Prometheus-Remote-Write-Histograms-Written'),
    text: await res.text(),
  };
}

const histogram = (count: number, timestamp: number, startTimestamp?: number): Histogram => ({
  count,
  sum: count * 0.5,
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  negativeSpans: [],
  negativeDeltas: [],
  negativeCounts: [],
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveDeltas: [count / 2, 0],
  positiveCounts: [],
  resetHint: 'unknown',
  timestamp,
  ...(startTimestamp === undefined ? {} : { startTimestamp }),
});

describe('Prometheus 3.16 as a receiver of our RW 2.0 bodies', () => {
  it('stores samples and native histograms, answers the written counts, and reads start timestamps where the spec puts them', async () => {
    const t = Date.now() - 30_000;
    const start = t - 10_000;
    const answer = await postV2(prom.remoteWriteUrl, {
      timeseries: [
        { labels: { __name__: 'codec_started_total', job: 'codec' }, samples: [{ value: 5, timestamp: t, startTimestamp: start }, { value: 7, timestamp: t + 1000, startTimestamp: start }] },
        { labels: { __name__: 'codec_unstarted_total', job: 'codec' }, samples: [{ value: 3, timestamp: t }] },
        { labels: { __name__: 'codec_gauge', job: 'codec' }, samples: [{ value: -1.5, timestamp: t }, { value: NaN, timestamp: t + 1000, stale: true }] },
        { labels: { __name__: 'codec_latency_seconds', job: 'codec' }, samples: [], histograms: [histogram(4, t, start)] },
      ],
      metadata: [{ metricFamilyName: 'codec_started_total', type: 'counter', help: 'Started.' }],
    });
    expect(answer).toMatchObject({ status: 204, samples: '5', histograms: '1' });

    // The start timestamp became a zero sample at `start`, in front of the two written ones; none without it.
    const [started] = await prom.querySeries('codec_started_total[5m]', t + 2000);
    expect(started?.samples).toEqual([{ value: 0, timestamp: start }, { value: 5, timestamp: t }, { value: 7, timestamp: t + 1000 }]);
    const [unstarted] = await prom.querySeries('codec_unstarted_total[5m]', t + 2000);
    expect(unstarted?.samples).toEqual([{ value: 3, timestamp: t }]);
    expect((await prom.query('codec_gauge', t + 500)).map((s) => s.value)).toEqual([-1.5]);
    expect(await prom.query('codec_gauge', t + 1500)).toEqual([]);
    // Histogram.start_timestamp (field 17): an empty histogram at `start`, then the written one.
    expect((await prom.query('histogram_count(codec_latency_seconds)', start + 1)).map((s) => s.value)).toEqual([0]);
    expect((await prom.query('histogram_count(codec_latency_seconds)', t + 1)).map((s) => s.value)).toEqual([4]);
    expect((await prom.query('histogram_sum(codec_latency_seconds)', t + 1)).map((s) => s.value)).toEqual([2]);
  });

  it('stores a sample whose start timestamp lies after it, without a zero sample (Prometheus ignores such a start)', async () => {
    const t = Date.now() - 20_000;
    const answer = await postV2(prom.remoteWriteUrl, { timeseries: [{ labels: { __name__: 'codec_late_start_total' }, samples: [{ value: 2, timestamp: t, startTimestamp: t + 5000 }] }] });
    expect(answer).toMatchObject({ status: 204, samples: '1' });
    const [stored] = await prom.querySeries('codec_late_start_total[5m]', t + 1000);
    expect(stored?.samples).toEqual([{ value: 2, timestamp: t }]);
  });
});

describe('VictoriaMetrics v1.151 and RW 2.0', () => {
  it('answers 204 to a 2.0 body without the written-count headers and stores nothing; the same series as 1.0 land', async () => {
    const t = Date.now() - 10_000;
    const req: WriteRequest = { timeseries: [{ labels: { __name__: 'codec_vm_total', job: 'codec' }, samples: [{ value: 11, timestamp: t, startTimestamp: t - 5000 }] }] };
    expect(await postV2(vm.remoteWriteUrl, req)).toEqual({ status: 204, samples: null, histograms: null, text: '' });
    expect(await vm.query('codec_vm_total', t + 1000)).toEqual([]);
    const v1 = await fetch(vm.remoteWriteUrl, {
      method: 'POST',
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body: encodeWriteRequestSnappy(req),
    });
    expect(v1.status).toBe(204);
    const [stored] = await vm.querySeries('codec_vm_total[1m]', t + 1000);
    // 1.0 has no start timestamp: only the sample.
    expect(stored?.samples).toEqual([{ value: 11, timestamp: t }]);
  });
});
