// Prometheus 2.42 as a sender: it scrapes an exposition served here and remote-writes to an endpoint here that
// decodes with our codec; what arrives must equal what was scraped.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { startPrometheus } from '@prom-relay/infra';
import type { PrometheusServer } from '@prom-relay/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequestSnappy, formatExposition, parseExposition } from '../../src/index.js';
import type { MetricFamily, WriteRequest } from '../../src/index.js';

const exposition: MetricFamily[] = [
  {
    name: 'jobs_total',
    type: 'counter',
    help: 'Jobs run, by queue.',
    samples: [
      { name: 'jobs_total', labels: { queue: 'default' }, value: 12 },
      { name: 'jobs_total', labels: { queue: 'grüße ✓' }, value: 1e15 },
    ],
  },
  { name: 'temperature_celsius', type: 'gauge', help: 'Ambient.', samples: [{ name: 'temperature_celsius', labels: { room: 'a "b" \\ c' }, value: -3.25 }] },
  { name: 'odd_values', type: 'gauge', samples: [
    { name: 'odd_values', labels: { v: 'nan' }, value: NaN },
    { name: 'odd_values', labels: { v: 'pinf' }, value: Infinity },
    { name: 'odd_values', labels: { v: 'ninf' }, value: -Infinity },
  ] },
  {
    name: 'latency_seconds',
    type: 'histogram',
    help: 'Latency.',
    samples: [
      { name: 'latency_seconds_bucket', labels: { le: '0.1' }, value: 3 },
      { name: 'latency_seconds_bucket', labels: { le: '1' }, value: 5 },
      { name: 'latency_seconds_bucket', labels: { le: '+Inf' }, value: 6 },
      { name: 'latency_seconds_sum', labels: {}, value: 2.7 },
      { name: 'latency_seconds_count', labels: {}, value: 6 },
    ],
  },
  {
    name: 'rpc_seconds',
    type: 'summary',
    samples: [
      { name: 'rpc_seconds', labels: { quantile: '0.5' }, value: 0.2 },
      { name: 'rpc_seconds_sum', labels: {}, value: 12.5 },
      { name: 'rpc_seconds_count', labels: {}, value: 40 },
    ],
  },
];

let served = exposition;
const received: WriteRequest[] = [];
const decodeFailures: unknown[] = [];
let server: Server;
let prom: PrometheusServer;
let target = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(formatExposition(served));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        received.push(decodeWriteRequestSnappy(Buffer.concat(chunks)));
        res.writeHead(204).end();
      } catch (err) {
        decodeFailures.push(err);
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The exposition must parse with our parser too (it is what the relay will read).
  expect(parseExposition(formatExposition(exposition))).toEqual(exposition);
  prom = await startPrometheus({
    scrapeInterval: '1s',
    extraConfig: `scrape_configs:
  - job_name: codec-sender
    static_configs:
      - targets: ['${target}']
remote_write:
  - url: http://${target}/receive
    queue_config:
      batch_send_deadline: 200ms
      max_samples_per_send: 100
    metadata_config:
      send: true
      send_interval: 1s
`,
  });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Latest arrived value per series key, and all stale markers seen. */
function arrived(): { latest: Map<string, number>; stale: Set<string> } {
  const latest = new Map<string, number>();
  const stale = new Set<string>();
  for (const req of received) {
    for (const series of req.timeseries) {
      for (const s of series.samples) {
        if (s.stale) stale.add(keyOf(series.labels));
        else latest.set(keyOf(series.labels), s.value);
      }
    }
  }
  return { latest, stale };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function expectedSeries(families: MetricFamily[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of families) {
    for (const s of family.samples) {
      out.set(keyOf({ ...s.labels, __name__: s.name, job: 'codec-sender', instance: target }), s.value);
    }
  }
  return out;
}

describe('Prometheus 2.42 as a sender to an endpoint decoding with our codec', () => {
  it('delivers every scraped sample with its labels and exact value', async () => {
    const expected = expectedSeries(exposition);
    await waitFor(() => [...expected.keys()].every((k) => arrived().latest.has(k)), 'every scraped series to arrive');
    const { latest } = arrived();
    for (const [key, value] of expected) {
      const got = latest.get(key)!;
      expect(Number.isNaN(value) ? Number.isNaN(got) : got === value, `${key}: got ${got}, scraped ${value}`).toBe(true);
    }
    // Prometheus adds its own series for the target; they decode too.
    expect(latest.get(keyOf({ __name__: 'up', job: 'codec-sender', instance: target }))).toBe(1);
    expect(decodeFailures).toEqual([]);
  }, 45_000);

  it('delivers metric metadata (type, help) for the scraped families', async () => {
    await waitFor(() => received.some((r) => r.metadata?.some((m) => m.metricFamilyName === 'jobs_total')), 'metadata for jobs_total');
    const metadata = received.flatMap((r) => r.metadata ?? []);
    expect(metadata).toContainEqual({ type: 'counter', metricFamilyName: 'jobs_total', help: 'Jobs run, by queue.' });
    expect(metadata).toContainEqual({ type: 'histogram', metricFamilyName: 'latency_seconds', help: 'Latency.' });
    expect(metadata).toContainEqual({ type: 'gauge', metricFamilyName: 'temperature_celsius', help: 'Ambient.' });
  }, 45_000);

  it('delivers a staleness marker, decoded as stale: true, when a series disappears from the scrape', async () => {
    const gone = keyOf({ __name__: 'temperature_celsius', room: 'a "b" \\ c', job: 'codec-sender', instance: target });
    served = exposition.filter((f) => f.name !== 'temperature_celsius');
    await waitFor(() => arrived().stale.has(gone), 'a stale marker for temperature_celsius');
    // Series still scraped are not marked stale.
    expect(arrived().stale.has(keyOf({ __name__: 'jobs_total', queue: 'default', job: 'codec-sender', instance: target }))).toBe(false);
    expect(decodeFailures).toEqual([]);
  }, 45_000);
});
