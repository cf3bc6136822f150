// Issue 11 acceptance: "A Prometheus 3 sender with native histograms into the ingest: every series of the target
// arrives, the histograms merged across two senders." Two Go targets (test/ingest/go-push/target: the Go client's
// counter, gauge, classic histogram and native histogram with NativeHistogramBucketFactor 1.1), each scraped by its own
// Prometheus 3.16 (`scrape_native_histograms: true`), both remote-writing into the relay's ingest with
// `send_native_histograms: true` and metadata on — once with Remote Write 1.0, once with 2.0
// (`protobuf_message: io.prometheus.write.v2.Request`, `--enable-feature=metadata-wal-records`). The relay writes to a
// third Prometheus 3. `instance` is the relay's default producer label (`aggregation.producer_labels`): it is removed
// from the outputs, and the two senders' series merge, each kept per producer as the relay does with every push. There:
// every series each sender stored arrives (its labels without `instance`); the counter is exactly the sum of the two
// targets'; classic histogram buckets, `_sum` and `_count` likewise; the native histogram has the count and sum of both
// targets' observations, and its histogram_quantile is the one PromQL computes over the two targets scraped directly
// (the receiver scrapes them too, as job "reference") and falls in the bucket the observations put that quantile in.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus3, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoProgram, eventually, startRelayProcess, stopRelay, testRelayConfig, type RelayProcess } from '../e2e/harness.js';

const GO_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), '../ingest/go-push');

/** What each target exposes: its counter, its gauge, and the observations feeding both its histograms. */
const TARGETS = [
  { rows: 10, depth: 3, observations: [0, 0.002, 0.3, 0.3, 1.5, 7, 7.5] },
  { rows: 32, depth: 5, observations: [0.0004, 0.05, 0.3, 2.5, 2.5, 40, -1] },
];
const ALL = TARGETS.flatMap((t) => t.observations);

let receiver: PrometheusServer;
let relay: RelayProcess | undefined;
const targets: { child: ChildProcess; address: string }[] = [];
const senders: PrometheusServer[] = [];

async function startTarget(binary: string, t: (typeof TARGETS)[number]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(binary, [String(t.rows), String(t.depth), ...t.observations.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`the Go target exited with ${code}`)));
  });
  return { child, address };
}

beforeAll(async () => {
  const binary = await buildGoProgram(GO_MODULE, './target');
  for (const t of TARGETS) targets.push(await startTarget(binary, t));
  // The receiver also scrapes both targets itself: PromQL's own merge of the two native histograms, for reference.
  receiver = await startPrometheus3({
    extraConfig: [
      'scrape_configs:',
      '  - job_name: reference',
      '    scrape_interval: 1s',
      '    scrape_native_histograms: true',
      `    static_configs: [{ targets: [${targets.map((t) => `'${t.address}'`).join(', ')}] }]`,
    ].join('\n'),
  });
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  relay = await startRelayProcess(testRelayConfig({ topic, remoteWriteUrl: receiver.remoteWriteUrl }));
}, 900_000);

afterAll(async () => {
  for (const s of senders) await s.stop();
  for (const t of targets) t.child.kill('SIGTERM');
  if (relay) await stopRelay(relay);
  await receiver?.stop();
});

/** The label sets of the series matching `match` on a Prometheus, without `instance`, as sorted JSON strings, distinct. */
async function seriesOf(url: string, match: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/series?${new URLSearchParams({ 'match[]': match })}`);
  const body = (await res.json()) as { data: Record<string, string>[] };
  const sets = body.data.map((labels) =>
    JSON.stringify(Object.fromEntries(Object.entries(labels).filter(([name]) => name !== 'instance').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
  );
  return [...new Set(sets)].sort();
}

/** One value of an instant query that must return exactly one sample. */
async function one(prom: PrometheusServer, promql: string): Promise<number> {
  const r = await prom.query(promql);
  if (r.length !== 1) throw new Error(`${promql}: ${r.length} samples`);
  return r[0]!.value;
}

/** Index of the schema-3 bucket holding |v|: bucket i is (2^((i-1)/8), 2^(i/8)]. */
const bucketIndex = (v: number) => Math.ceil(Math.log2(Math.abs(v)) * 8);

/**
 * A sender's prometheus.yml. RW 1.0 carries metadata in requests of its own, every 10 s here (1m by default), which
 * the ingest remembers for later series: the samples before it arrive untyped and are read as gauges until the first
 * typed ones, when the relay starts each series again as what it is (aggregate/retype.ts) — the counters and classic
 * histogram below are summed exactly in the end. RW 2.0 carries each series' metadata with it.
 */
function senderConfig(job: string, target: string, ingest: string, version: '1.0' | '2.0'): string {
  return [
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    scrape_interval: 1s',
    '    scrape_native_histograms: true',
    `    static_configs: [{ targets: ['${target}'] }]`,
    'remote_write:',
    `  - url: ${ingest}/api/v1/write`,
    `    protobuf_message: ${version === '2.0' ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest'}`,
    '    send_native_histograms: true',
    '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
    `    metadata_config: { send: true, send_interval: ${version === '1.0' ? '10s' : '1s'} }`,
  ].join('\n');
}

describe('Prometheus 3 senders with native histograms into the ingest', () => {
  for (const version of ['1.0', '2.0'] as const) {
    it(`Remote Write ${version}: every series of both targets arrives, counters and native histograms merged exactly`, async () => {
      const job = `p3-rw${version === '1.0' ? 1 : 2}`;
      const mine: PrometheusServer[] = [];
      for (const t of targets) {
        const sender = await startPrometheus3({
          extraConfig: senderConfig(job, t.address, relay!.url, version),
          features: version === '2.0' ? ['metadata-wal-records'] : [],
        });
        senders.push(sender);
        mine.push(sender);
      }
      // Each sender scraped its target's native histogram as one (not as classic buckets).
      for (const [i, sender] of mine.entries()) {
        const count = await eventually(() => sender.query(`histogram_count(p3_native_seconds{job="${job}"})`), (v) => v.length === 1, 60_000);
        expect(count[0]!.value).toBe(TARGETS[i]!.observations.length);
      }

      // Every series the senders stored arrives, with the same labels but `instance` (the producer label).
      const sent = [...new Set((await Promise.all(mine.map((s) => seriesOf(s.url, `{job="${job}"}`)))).flat())].sort();
      expect(sent.some((s) => s.includes('"p3_native_seconds"'))).toBe(true);
      expect(sent.length).toBeGreaterThanOrEqual(9 + 1); // 9 p3_ series per target, `up` and the other scrape series
      const relayed = () => seriesOf(receiver.url, `{job="${job}"}`);
      expect(await eventually(relayed, (got) => sent.every((s) => got.includes(s)), 90_000)).toEqual(sent);

      // The counter over the two senders: exact. Classic histograms the same, bucket by bucket.
      const rowsTotal = TARGETS.reduce((n, t) => n + t.rows, 0);
      const at = `job="${job}"`;
      expect(await eventually(() => one(receiver, `p3_rows_total{${at},table="users"}`).catch(() => NaN), (v) => v === rowsTotal, 60_000)).toBe(rowsTotal);
      expect(await eventually(() => one(receiver, `p3_classic_seconds_count{${at}}`).catch(() => NaN), (v) => v === ALL.length, 30_000)).toBe(ALL.length);
      for (const le of [0.1, 1, 10]) {
        expect(await one(receiver, `p3_classic_seconds_bucket{${at},le="${le.toFixed(1)}"}`)).toBe(ALL.filter((v) => v <= le).length);
      }
      expect(await one(receiver, `p3_classic_seconds_sum{${at}}`)).toBeCloseTo(ALL.reduce((a, b) => a + b, 0), 9);
      // A gauge is the last value pushed: one of the two targets'.
      expect(TARGETS.map((t) => t.depth)).toContain(await one(receiver, `p3_queue_depth{${at}}`));
      expect(await one(receiver, `up{${at}}`)).toBe(1);

      // The native histogram over the two senders: the count and sum of every observation...
      const merged = `p3_native_seconds{${at}}`;
      const count = await eventually(() => one(receiver, `histogram_count(${merged})`).catch(() => NaN), (v) => v === ALL.length, 60_000);
      expect(count).toBe(ALL.length);
      expect(await one(receiver, `histogram_sum(${merged})`)).toBeCloseTo(ALL.reduce((a, b) => a + b, 0), 9);
      expect(await one(receiver, `histogram_count(sum(p3_native_seconds{job="reference"}))`)).toBe(ALL.length);
      const sorted = [...ALL].sort((a, b) => a - b);
      for (const q of [0.5, 0.75, 0.9]) {
        const got = await one(receiver, `histogram_quantile(${q}, ${merged})`);
        // ...the quantiles PromQL gives for the two targets' histograms summed...
        expect(got).toBeCloseTo(await one(receiver, `histogram_quantile(${q}, sum(p3_native_seconds{job="reference"}))`), 12);
        // ...each in the schema-3 bucket of the observation at that rank.
        const v = sorted[Math.ceil(q * sorted.length) - 1]!;
        const i = bucketIndex(v);
        expect(got).toBeGreaterThan(2 ** ((i - 1) / 8));
        expect(got).toBeLessThanOrEqual(2 ** (i / 8));
      }
      for (const s of mine) await s.stop();
    }, 300_000);
  }
});
