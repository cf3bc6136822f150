// Relay benchmark: one relay process (`prom-relay run`, a child process) with the real Kafka broker and Prometheus:
// sustained ingest, one flush of 100,000 active output series, RSS per active output series at 100k and 1M.
// Run: node --conditions=@prom-relay/source --import tsx --expose-gc bench/relay.ts   (prints one markdown section)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startKafka, startPrometheus, type KafkaServer, type PrometheusServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { stringify } from 'yaml';
import { PartitionAggregate } from '../apps/relay/src/aggregate/index.js';
import { aggregateOptions } from '../apps/relay/src/pipeline.js';
import { loadConfig } from '../apps/relay/src/config/index.js';
import { decodeRecord } from '../apps/relay/src/decode/index.js';

const require = createRequire(import.meta.url);
const peerRw = require('prometheus-remote-write') as {
  pushTimeseries(ts: unknown, config: { url: string; timeout?: number; fetch?: typeof fetch }): Promise<{ status: number; errorMessage?: string }>;
};
const peerRwVersion = (require('prometheus-remote-write/package.json') as { version: string }).version;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg: string) => process.stderr.write(`[relay bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PARTITIONS = 4;
const INGEST_PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 1500);
const INGEST_PUSHES = Number(process.env.BENCH_PUSHES ?? 20);
const BIG = Number(process.env.BENCH_BIG_SERIES ?? 1_000_000);
const STEADY_FLUSHES = 5;

type Msg = { key: string; value: Buffer; headers: Record<string, string> };
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

/** 100 samples in text exposition: 61 cumulative counters and 3 histograms (11 buckets, sum, count). */
function ingestBody(push: number, seed: number): string {
  const lines = ['# TYPE bench_rows_total counter'];
  for (let t = 0; t < 61; t++) lines.push(`bench_rows_total{table="t${t}",status="ok"} ${(push + 1) * ((t % 7) + seed)}`);
  lines.push('# TYPE bench_latency_seconds histogram');
  for (let op = 0; op < 3; op++) {
    let cum = 0;
    for (let b = 0; b < BUCKETS.length; b++) {
      cum += (push + 1) * (b + 1);
      lines.push(`bench_latency_seconds_bucket{op="op${op}",le="${BUCKETS[b]}"} ${cum}`);
    }
    lines.push(`bench_latency_seconds_sum{op="op${op}"} ${(push + 1) * 1.5}`, `bench_latency_seconds_count{op="op${op}"} ${cum}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Many short-lived producers (a UUID each, counters from zero), pushes interleaved as they would arrive. */
function ingestMessages(): Msg[] {
  const producers = Array.from({ length: INGEST_PRODUCERS }, (_, p) => ({ id: randomUUID(), job: `bench-${p % 40}`, instance: `i-${p}`, seed: 1 + (p % 13) }));
  const out: Msg[] = [];
  for (let push = 0; push < INGEST_PUSHES; push++) {
    for (const p of producers) {
      out.push(buildMessage({ contentType: CONTENT_TYPE.text, job: p.job, grouping: { instance: p.instance }, producerId: p.id, sequence: push }, Buffer.from(ingestBody(push, p.seed))));
    }
  }
  return out;
}

/** `count` output series, 100 per message, each message from its own producer; 100 jobs over the partitions. */
function distinctSeriesMessages(count: number, tag: string): Msg[] {
  const out: Msg[] = [];
  for (let m = 0; m < count / 100; m++) {
    const lines = ['# TYPE bench_series_total counter'];
    for (let i = 0; i < 100; i++) lines.push(`bench_series_total{shard="${tag}${m}",idx="${i}"} ${i + 1}`);
    out.push(buildMessage({ contentType: CONTENT_TYPE.text, job: `mem-${m % 100}`, grouping: { instance: `i-${m}` }, producerId: randomUUID(), sequence: 0 }, Buffer.from(`${lines.join('\n')}\n`)));
  }
  return out;
}

async function produceAll(kafka: KafkaServer, topic: string, messages: Msg[]): Promise<void> {
  const client = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const BATCH = 150; // ~4 KB each: requests stay under the broker's 1 MB default
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += BATCH) {
    inflight.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + BATCH) }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

interface RelayChild {
  child: ChildProcess;
  url: string;
  pid: number;
  logs: Record<string, unknown>[];
}

async function startRelay(kafka: KafkaServer, prom: PrometheusServer, topic: string, flushInterval: string): Promise<RelayChild> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  const file = join(dir, 'relay.yaml');
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafka.brokers, topics: [topic], group_id: `bench-${randomUUID().slice(0, 8)}`, checkpoint_topic: `ckpt-${topic}`, dlq_topic: `dlq-${topic}` },
      remote_write: { url: prom.remoteWriteUrl, max_samples_per_request: 10_000, concurrency: 4 },
      aggregation: { max_series_per_job: 1_000_000 },
      flush: { interval: flushInterval },
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    }),
  );
  const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', join(REPO, 'apps/relay/src/cli.ts'), 'run', '--config', file], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      try {
        logs.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
      buf = buf.slice(nl + 1);
    }
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const started = logs.find((l) => l.msg === 'relay started');
    const restored = logs.filter((l) => l.msg === 'partition restored').length;
    if (started && restored >= PARTITIONS) return { child, url: String(started.url), pid: child.pid!, logs };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`relay did not start: ${JSON.stringify(logs.slice(-3))}`);
    await sleep(100);
  }
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
function sumOf(text: string, re: RegExp): number {
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}
const consumedRe = /^prom_relay_messages_consumed_total\{[^}]*\} (\d+)/gm;
const flushCountRe = /^prom_relay_flush_duration_seconds_count\{result="success"\} (\d+)/gm;
const flushSumRe = /^prom_relay_flush_duration_seconds_sum\{result="success"\} ([\d.e+-]+)/gm;
const seriesRe = /^prom_relay_active_series\{[^}]*\} (\d+)/gm;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

async function waitConsumed(url: string, total: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = sumOf(await scrape(url), consumedRe);
    if (process.env.BENCH_TRACE) log(`consumed ${c} at ${Date.now()}`);
    if (c >= total) return;
    if (Date.now() > deadline) throw new Error(`consumed ${c} of ${total} before the deadline`);
    await sleep(100);
  }
}

/** Duration of the next successful flush, from the relay's own flush histogram. */
async function nextFlushSeconds(url: string): Promise<number> {
  const before = await scrape(url);
  const n0 = sumOf(before, flushCountRe);
  const s0 = sumOf(before, flushSumRe);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('no successful flush within 120 s');
    await sleep(50);
    const now = await scrape(url);
    const n = sumOf(now, flushCountRe);
    if (n === n0 + 1) return sumOf(now, flushSumRe) - s0;
    if (n > n0 + 1) return (sumOf(now, flushSumRe) - s0) / (n - n0);
  }
}

function stop(r: RelayChild): Promise<void> {
  return new Promise((res) => {
    if (r.child.exitCode !== null) return res();
    r.child.once('exit', () => res());
    r.child.kill('SIGKILL');
  });
}

/** The same records decoded and applied in this process, no Kafka: the pipeline's ceiling. */
function inProcessRate(messages: Msg[]): number {
  const opts = aggregateOptions(loadConfig({ env: {}, text: 'aggregation:\n  max_series_per_job: 1000000\n' }));
  const aggs = Array.from({ length: PARTITIONS }, () => new PartitionAggregate(opts));
  const records = messages.map((m, i) => {
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(m.headers)) headers[k] = Buffer.from(v);
    return { topic: 'bench', partition: i % PARTITIONS, offset: String(i), key: Buffer.from(m.key), value: m.value, headers };
  });
  const t0 = performance.now();
  let samples = 0;
  for (const r of records) {
    const batch = decodeRecord(r);
    samples += batch.points.length;
    aggs[r.partition]!.apply(batch, Date.now());
  }
  return samples / ((performance.now() - t0) / 1000);
}

/** prom-client holding the same label sets, in a fresh process measured like the relay: RSS growth per series. */
async function promClientRssChild(n: number): Promise<void> {
  await sleep(200);
  const before = process.memoryUsage().rss;
  const registry = new Registry();
  const c = new Counter({ name: 'bench_series_total', help: 'x', labelNames: ['job', 'shard', 'idx'], registers: [registry] });
  for (let m = 0; m < n / 100; m++) for (let i = 0; i < 100; i++) c.inc({ job: `mem-${m % 100}`, shard: `s${m}`, idx: String(i) }, i + 1);
  await sleep(500);
  process.stdout.write(`${(process.memoryUsage().rss - before) / n}\n`);
}

function promClientBytesPerSeries(n: number): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', fileURLToPath(import.meta.url), 'prom-client-rss', String(n)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => (code === 0 ? res(Number(out.trim())) : rej(new Error(`prom-client child exited ${code}`))));
  });
}

async function peerFlushSeconds(prom: PrometheusServer, n: number): Promise<number> {
  const ts = Date.now();
  const series = Array.from({ length: n }, (_, k) => ({
    labels: { __name__: 'bench_series_total', job: `mem-${Math.floor(k / 100) % 100}`, shard: `a${Math.floor(k / 100)}`, idx: String(k % 100) },
    samples: [{ value: (k % 100) + 1, timestamp: ts }],
  }));
  const t0 = performance.now();
  const res = await peerRw.pushTimeseries(series, { url: prom.remoteWriteUrl, timeout: 60_000, fetch });
  const s = (performance.now() - t0) / 1000;
  if (res.status >= 300) log(`peer push answered ${res.status} ${res.errorMessage ?? ''}`);
  return s;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  log('starting Kafka and Prometheus');
  const [kafka, prom] = await Promise.all([startKafka({ heap: '1g' }), startPrometheus()]);
  const rows: string[] = [];
  try {
    // 1. Sustained ingest: a backlog of text-exposition messages consumed by one relay process.
    const ingestTopic = 'bench-ingest';
    await kafka.createTopic(ingestTopic, { partitions: PARTITIONS });
    const ingest = ingestMessages();
    log(`producing ${ingest.length} messages (${ingest.length * 100} samples)`);
    await produceAll(kafka, ingestTopic, ingest);
    const r1 = await startRelay(kafka, prom, ingestTopic, '2s');
    await waitConsumed(r1.url, ingest.length, 300_000);
    const doneAt = Date.now();
    // From the moment the last partition was restored (the relay's own log time) to the poll that saw the last record.
    const restoredAt = Math.max(...r1.logs.filter((l) => l.msg === 'partition restored').map((l) => Number(l.time)));
    const relayRate = (ingest.length * 100) / ((doneAt - restoredAt) / 1000);
    const afterIngest = await scrape(r1.url);
    const outSeries = sumOf(afterIngest, seriesRe);
    const flushesDuringIngest = sumOf(afterIngest, flushCountRe);
    await stop(r1);
    log(`relay ingest ${fmt(relayRate)} samples/s`);
    const ceiling = inProcessRate(ingest);
    log(`in-process decode+aggregate ${fmt(ceiling)} samples/s`);

    // 2. 100k active output series: RSS, then the duration of one flush (checkpoint + remote write), in the relay.
    const memTopic = 'bench-100k';
    await kafka.createTopic(memTopic, { partitions: PARTITIONS });
    const r2 = await startRelay(kafka, prom, memTopic, '4s');
    await sleep(1000);
    const base2 = rssBytes(r2.pid);
    const m100k = distinctSeriesMessages(100_000, 'a');
    await produceAll(kafka, memTopic, m100k);
    await waitConsumed(r2.url, m100k.length, 120_000);
    await sleep(300);
    const rss100k = rssBytes(r2.pid);
    const firstFlush = await nextFlushSeconds(r2.url);
    // Several steady-state flushes, since one is at the mercy of the other processes on the two cores.
    const steadyFlushes: number[] = [];
    for (let i = 0; i < STEADY_FLUSHES; i++) steadyFlushes.push(await nextFlushSeconds(r2.url));
    const sortedSteady = [...steadyFlushes].sort((a, b) => a - b);
    const steadyFlush = sortedSteady[Math.floor(sortedSteady.length / 2)]!;
    const steadyMax = sortedSteady.at(-1)!;
    const rss100kFlushed = rssBytes(r2.pid);
    const series100k = sumOf(await scrape(r2.url), seriesRe);
    await stop(r2);
    const peerFlush = await peerFlushSeconds(prom, 100_000);
    log(`flush 100k: first ${firstFlush.toFixed(3)} s, steady ${steadyFlushes.map((f) => f.toFixed(3)).join(' ')} s, peer push ${peerFlush.toFixed(3)} s`);

    // 3. 1M active output series: RSS of the relay process (no flush during the measurement).
    const bigTopic = 'bench-1m';
    await kafka.createTopic(bigTopic, { partitions: PARTITIONS });
    const r3 = await startRelay(kafka, prom, bigTopic, '1h');
    await sleep(1000);
    const base3 = rssBytes(r3.pid);
    for (let part = 0; part < BIG / 200_000; part++) {
      const chunk = distinctSeriesMessages(200_000, `b${part}-`);
      await produceAll(kafka, bigTopic, chunk);
    }
    await waitConsumed(r3.url, BIG / 100, 300_000);
    await sleep(2000);
    const rss1m = rssBytes(r3.pid);
    const series1m = sumOf(await scrape(r3.url), seriesRe);
    await stop(r3);
    const per100k = (rss100k - base2) / series100k;
    const per100kFlushed = (rss100kFlushed - base2) / series100k;
    const per1m = (rss1m - base3) / series1m;
    const peer100k = await promClientBytesPerSeries(100_000);
    const peer1m = await promClientBytesPerSeries(BIG);
    log(`RSS per series: ${per100k.toFixed(0)} B at 100k, ${per1m.toFixed(0)} B at 1M; prom-client ${peer100k.toFixed(0)} / ${peer1m.toFixed(0)}`);

    rows.push(
      '## Relay: one process with the real broker and Prometheus',
      '',
      `Workload: \`prom-relay run\` as a child process, Kafka ${kafka.version} and Prometheus 2.42 on the same 2-core machine.`,
      `Ingest: a backlog of ${fmt(ingest.length)} messages on ${PARTITIONS} partitions, each 100 samples of text exposition`,
      `(61 cumulative counters + 3 histograms of 11 buckets with sum and count) from ${fmt(INGEST_PRODUCERS)} short-lived producers`,
      `(a UUID each, ${INGEST_PUSHES} pushes each), ${fmt(outSeries)} output series; rate read from the relay's own`,
      `\`prom_relay_messages_consumed_total\` (flush interval 2 s; ${flushesDuringIngest} flushes ran meanwhile: a partition`,
      'taken on with a backlog is flushed once caught up). Flush: 100,000 active output series (100 per',
      'message, each from its own producer); duration from the relay\'s `prom_relay_flush_duration_seconds` (snapshot, then',
      'remote write to Prometheus while the gzip\'d checkpoint goes to the compacted topic with acks -1); the peer pushes the same',
      `number of series once with prometheus-remote-write ${peerRwVersion}. Memory: the relay process\'s RSS growth`,
      '(/proc VmRSS, no forced GC; at 1M no flush ran) divided by its active output series; the peer is prom-client 15',
      'holding the same label sets in one Counter, measured the same way in a fresh process.',
      '',
      '| measure | prom-relay | peer | target |',
      '| --- | ---: | ---: | ---: |',
      `| sustained ingest, input samples/s (one relay process, via Kafka) | ${fmt(relayRate)} | ${fmt(ceiling)} (decode + aggregate in-process, no Kafka) | ≥ 300,000 |`,
      `| one flush of ${fmt(series100k)} series, first (new series in Prometheus) | ${firstFlush.toFixed(3)} s | ${peerFlush.toFixed(3)} s (prometheus-remote-write, send only) | < 1 s |`,
      `| one flush of ${fmt(series100k)} series, steady state (median of ${STEADY_FLUSHES}; slowest ${steadyMax.toFixed(3)} s) | ${steadyFlush.toFixed(3)} s | | < 1 s |`,
      `| RSS per active output series at ${fmt(series100k)} | ${fmt(per100k)} B | ${fmt(peer100k)} B (prom-client) | < 1024 B |`,
      `| same, after ${STEADY_FLUSHES + 1} flushes (their garbage not yet collected) | ${fmt(per100kFlushed)} B | | |`,
      `| RSS per active output series at ${fmt(series1m)} | ${fmt(per1m)} B | ${fmt(peer1m)} B (prom-client) | < 1024 B |`,
    );
  } finally {
    await Promise.allSettled([kafka.stop(), prom.stop()]);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

const run = process.argv[2] === 'prom-client-rss' ? promClientRssChild(Number(process.argv[3])) : main();
run.catch((err: unknown) => {
  process.stderr.write(`relay bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
