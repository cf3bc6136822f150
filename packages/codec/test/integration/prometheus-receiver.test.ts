// Our encoder's bodies, POSTed to a real Prometheus 2.42 remote write receiver, read back through its HTTP API.
import { startPrometheus } from '@prom-relay/infra';
import type { PrometheusServer } from '@prom-relay/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequestSnappy, parseFloatToken } from '../../src/index.js';
import type { TimeSeries, WriteRequest } from '../../src/index.js';

let prom: PrometheusServer;

beforeAll(async () => {
  prom = await startPrometheus();
}, 60_000);

afterAll(async () => {
  await prom?.stop();
});

async function post(req: WriteRequest): Promise<{ status: number; text: string }> {
  const res = await fetch(prom.remoteWriteUrl, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'prom-relay-codec-test',
    },
    body: encodeWriteRequestSnappy(req),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * Raw samples of a range selector straight from the HTTP API, values parsed as Prometheus writes them
 * ("+Inf", "-Inf", "NaN"); infra's querySeries reads "+Inf" with Number(), which gives NaN.
 */
async function rawSamples(selector: string, timeMs: number): Promise<Array<{ value: number; timestamp: number }>> {
  const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(selector)}&time=${timeMs / 1000}`;
  const body = (await (await fetch(url)).json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  expect(body.data.result).toHaveLength(1);
  return body.data.result[0]!.values.map(([ts, v]) => ({ timestamp: Math.round(ts * 1000), value: parseFloatToken(v)! }));
}

function sameValue(actual: number, expected: number): boolean {
  return Number.isNaN(expected) ? Number.isNaN(actual) : Object.is(actual, expected) || actual === expected;
}

describe('Prometheus 2.42 as a receiver of our RW 1.0 bodies', () => {
  it('stores NaN, ±Inf, negative, tiny and large values exactly', async () => {
    const t0 = Date.now() - 60_000;
    const values = [1.5, -2.25, 0, -0.001, 1e300, -1e-300, 2 ** 53, Number.MAX_VALUE, NaN, Infinity, -Infinity, 123456789.123456];
    const series: TimeSeries = {
      labels: { __name__: 'codec_values', case: 'special' },
      samples: values.map((value, i) => ({ value, timestamp: t0 + i * 1000 })),
    };
    expect(await post({ timeseries: [series] })).toEqual({ status: 204, text: '' });
    const [stored] = await prom.querySeries('codec_values{case="special"}[5m]', t0 + 30_000);
    expect(stored?.labels).toEqual({ __name__: 'codec_values', case: 'special' });
    const samples = await rawSamples('codec_values{case="special"}[5m]', t0 + 30_000);
    expect(samples.map((s) => s.timestamp)).toEqual(series.samples.map((s) => s.timestamp));
    samples.forEach((s, i) => {
      expect(sameValue(s.value, values[i]!), `sample ${i}: got ${s.value}, sent ${values[i]}`).toBe(true);
    });
  });

  it('stores many labels and unicode, long and escaped label values exactly', async () => {
    const t = Date.now() - 30_000;
    const labels: Record<string, string> = { __name__: 'codec_labels', kind: 'many' };
    for (let i = 0; i < 40; i++) labels[`l${String(i).padStart(2, '0')}`] = `value-${i}`;
    const unicode = { __name__: 'codec_labels', kind: 'unicode', text: 'grüße ✓ 日本語 🚀', quote: 'a "quoted" \\ back\nslash', long: 'x'.repeat(2000) };
    expect((await post({ timeseries: [{ labels, samples: [{ value: 7, timestamp: t }] }, { labels: unicode, samples: [{ value: -8, timestamp: t }] }] })).status).toBe(204);
    const many = await prom.query('codec_labels{kind="many"}', t + 1000);
    expect(many).toHaveLength(1);
    expect(many[0]!.labels).toEqual(labels);
    expect(many[0]!.value).toBe(7);
    const uni = await prom.query('codec_labels{kind="unicode"}', t + 1000);
    expect(uni[0]!.labels).toEqual(unicode);
    expect(uni[0]!.value).toBe(-8);
  });

  it('honours the staleness marker: the series ends at the stale sample (a plain NaN would not end it)', async () => {
    const t = Date.now() - 20_000;
    const req: WriteRequest = {
      timeseries: [
        { labels: { __name__: 'codec_stale', kind: 'marker' }, samples: [{ value: 5, timestamp: t }, { value: NaN, timestamp: t + 2000, stale: true }] },
        { labels: { __name__: 'codec_stale', kind: 'plain_nan' }, samples: [{ value: 5, timestamp: t }, { value: NaN, timestamp: t + 2000 }] },
      ],
    };
    expect((await post(req)).status).toBe(204);
    const before = await prom.query('codec_stale', t + 1000);
    expect(before.map((s) => [s.labels['kind'], s.value]).sort()).toEqual([['marker', 5], ['plain_nan', 5]]);
    const after = await prom.query('codec_stale', t + 3000);
    expect(after).toHaveLength(1);
    expect(after[0]!.labels['kind']).toBe('plain_nan');
    expect(after[0]!.value).toBeNaN();
  });

  it('answers 400 for a body that is not a valid protobuf (our encoder output is what it accepts)', async () => {
    const res = await fetch(prom.remoteWriteUrl, {
      method: 'POST',
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' },
      body: new Uint8Array([5, 0x10, 0xff, 0xff, 0xff, 0xff]),
    });
    expect(res.status).toBe(400);
  });
});

describe('Prometheus 2.42 (native histograms and exemplar storage enabled) as a receiver of histograms and exemplars', () => {
  let histProm: PrometheusServer;
  beforeAll(async () => {
    histProm = await startPrometheus({ extraArgs: ['--enable-feature=native-histograms,exemplar-storage'] });
  }, 60_000);
  afterAll(async () => {
    await histProm?.stop();
  });

  it('stores an integer native histogram: count, sum and bucket counts read back', async () => {
    const t = Date.now() - 10_000;
    const body = encodeWriteRequestSnappy({
      timeseries: [
        {
          labels: { __name__: 'codec_native_seconds', job: 'codec' },
          samples: [],
          histograms: [
            {
              count: 12, sum: 18.5, schema: 0, zeroThreshold: 0.001, zeroCount: 2,
              negativeSpans: [], negativeDeltas: [], negativeCounts: [],
              // Buckets (1,2] and (2,4] at schema 0: indexes 1 and 2, counts 4 and 6 (deltas 4, +2).
              positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [4, 2], positiveCounts: [],
              resetHint: 'unknown', timestamp: t,
            },
          ],
        },
      ],
    });
    const res = await fetch(histProm.remoteWriteUrl, {
      method: 'POST',
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body,
    });
    expect(res.status).toBe(204);
    const count = await histProm.query('histogram_count(codec_native_seconds)', t + 1000);
    const sum = await histProm.query('histogram_sum(codec_native_seconds)', t + 1000);
    const upTo2 = await histProm.query('histogram_fraction(0, 2, codec_native_seconds)', t + 1000);
    expect(count[0]?.value).toBe(12);
    expect(sum[0]?.value).toBe(18.5);
    // Zero bucket (2) + bucket (1,2] (4) out of 12.
    expect(upTo2[0]?.value).toBeCloseTo(6 / 12, 10);
  });

  it('stores exemplars with their labels, value and timestamp', async () => {
    const t = Date.now() - 5_000;
    const res = await fetch(histProm.remoteWriteUrl, {
      method: 'POST',
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body: encodeWriteRequestSnappy({
        timeseries: [
          {
            labels: { __name__: 'codec_exemplar_total', job: 'codec' },
            samples: [{ value: 3, timestamp: t }],
            exemplars: [{ labels: { trace_id: 'abc123', span: 'ü' }, value: 0.25, timestamp: t }],
          },
        ],
      }),
    });
    expect(res.status).toBe(204);
    const url = `${histProm.url}/api/v1/query_exemplars?query=codec_exemplar_total&start=${(t - 60_000) / 1000}&end=${(t + 60_000) / 1000}`;
    const body = (await (await fetch(url)).json()) as {
      data: Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }>;
    };
    expect(body.data).toHaveLength(1);
    expect(body.data[0]!.seriesLabels).toEqual({ __name__: 'codec_exemplar_total', job: 'codec' });
    expect(body.data[0]!.exemplars).toEqual([{ labels: { trace_id: 'abc123', span: 'ü' }, value: '0.25', timestamp: t / 1000 }]);
  });
});
