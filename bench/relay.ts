// Relay benchmark: one relay process (`prom-relay run`, a child process) with the real Kafka broker and Prometheus:
// sustained ingest (to the last record consumed, and on to the exact totals in Prometheus), the flush of 100,000 active
// output series, RSS per active output series at 100k and 1M. Rates in wall time and in the relay's CPU time.
// By default the relay of an older commit (BENCH_RELAY_BASELINE, default 2c451c5: the last one before the repartition
// stage; `none` to skip) runs interleaved with the current tree's, BENCH_ROUNDS rounds (default 2), against the same
// broker and Prometheus: before, after, before, after.
// Run: node --conditions=@prom-relay/source --import tsx --expose-gc bench/relay.ts   (prints one markdown section)
// Options: BENCH_PARTS=ingest,flush,mem (default all); BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every relay
// child of the current tree to <dir>/<its input topic>/ (stopped with SIGTERM so the profile is written); summarise
// them with `node bench/cpuprofile-top.mjs <dir>/<topic>/*.cpuprofile`. The flush part also runs the current tree's
// relay with `remote_write.send_metadata: false` beside it (each round, order alternating): the cost of the metadata.
// BENCH_PROMETHEUS=3: the receiver is Prometheus 3.16 (Remote Write 2.0, metadata per series) instead of 2.42 (1.0).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startKafka, startPrometheus, startPrometheus3, type KafkaServer, type PrometheusServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { stringify } from 'yaml';
import { PartitionAggregate } from '../apps/relay/src/aggregate/index.js';
import { aggregateOptions } from '../apps/relay/src/pipeline.js';
import { loadConfig } from '../apps/relay/src/config/index.js';
import { decodeRecord } from '../apps/relay/src/decode/index.js';
import { homePartition } from '../apps/relay/src/repartition/index.js';
import { baselineCheckout, currentCheckout, type Checkout } from './lib/baseline.js';
import { cpuSeconds, findPid, rssBytes } from './lib/proc.js';
import { textPushBody } from './lib/text-workload.js';

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
const FLUSH_SERIES = 100_000;
const BIG = Number(process.env.BENCH_BIG_SERIES ?? 1_000_000);
const STEADY_FLUSHES = 5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BASELINE = process.env.BENCH_RELAY_BASELINE ?? '2c451c5';
const PARTS = new Set((process.env.BENCH_PARTS ?? 'ingest,flush,mem').split(','));
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PROMETHEUS3 = process.env.BENCH_PROMETHEUS === '3';
const RECEIVER = PROMETHEUS3 ? 'Prometheus 3.16 (Remote Write 2.0)' : 'Prometheus 2.42';
/** How often the bench reads the relay's /metrics: each read costs the relay ~2 ms of CPU, counted in its figures. */
const POLL_MS = 250;

type Placement = 'emitter' | 'scattered';
type Msg = { key: string; value: Buffer; headers: Record<string, string>; partition?: number };
/**
 * Many short-lived producers (a UUID each, counters from zero), pushes interleaved as they would arrive; jobs named
 * after the run (`bench-<tag>-<n>`). `emitter`: partitioned by the message key as the emitter's kafkajs producer does;
 * `scattered`: each push on the partition murmur2 gives its producer id, not its key: 3 in 4 land off their home and
 * are forwarded, the cost of a client whose partitioner disagrees with the key's (librdkafka's default CRC32).
 * `expected`: what `sum(bench_rows_total)` of the run's jobs must read once every push arrived.
 */
function ingestMessages(tag: string, placement: Placement): { messages: Msg[]; expected: number } {
  const producers = Array.from({ length: INGEST_PRODUCERS }, (_, p) => ({ id: randomUUID(), job: `bench-${tag}-${p % 40}`, instance: `i-${p}`, seed: 1 + (p % 13) }));
  const messages: Msg[] = [];
  for (let push = 0; push < INGEST_PUSHES; push++) {
    for (const p of producers) {
      const m: Msg = buildMessage({ contentType: CONTENT_TYPE.text, job: p.job, grouping: { instance: p.instance }, producerId: p.id, sequence: push }, Buffer.from(textPushBody(push, p.seed)));
      // murmur2 of the producer id: a partitioner that disagrees with the key for 3 pushes in 4 (as librdkafka's CRC32 does).
      if (placement === 'scattered') m.partition = homePartition(p.id, PARTITIONS);
      messages.push(m);
    }
  }
  let expected = 0;
  for (const p of producers) for (let t = 0; t < 61; t++) expected += INGEST_PUSHES * ((t % 7) + p.seed);
  return { messages, expected };
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

interface Env {
  kafka: KafkaServer;
  prom: PrometheusServer;
  admin: kafkajs.Admin;
  brokerPid: number | undefined;
}

/** Running relays by URL: a failed scrape says whether the relay died. */
const children = new Map<string, RelayChild>();
/** After a failed part or at the end: no relay left running to take CPU from the next measurement. */
function killAll(): void {
  for (const r of children.values()) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  children.clear();
}

interface RelayChild {
  child: ChildProcess;
  url: string;
  pid: number;
  logs: Record<string, unknown>[];
  /** the relay's own log time of the last partition restored (input and partials topics) */
  restoredAt: number;
  profiled: boolean;
  /** whether this relay has the repartition stage (one owner per output series) */
  repartition: boolean;
}

async function startRelay(env: Env, checkout: Checkout, topic: string, flushInterval: string, profile: boolean, sendMetadata = true): Promise<RelayChild> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  const file = join(dir, 'relay.yaml');
  const groupId = `bench-${randomUUID().slice(0, 8)}`;
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: env.kafka.brokers, topics: [topic], group_id: groupId, checkpoint_topic: `ckpt-${topic}`, dlq_topic: `dlq-${topic}` },
      remote_write: { url: env.prom.remoteWriteUrl, max_samples_per_request: 10_000, concurrency: 4, ...(sendMetadata ? {} : { send_metadata: false }) },
      aggregation: { max_series_per_job: 1_000_000 },
      flush: { interval: flushInterval },
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      // Each relay its own partials topic, as one deployment: at 308b3d0 the schema's default ('prom-relay.partials',
      // shared by every group on the broker) overrode the intended `<group_id>.partials`, so a relay combined and wrote
      // the series of every relay before it in the session. A relay without the stage does not know the key.
      ...(existsSync(join(checkout.root, 'apps/relay/src/repartition')) ? { repartition: { topic: `${groupId}.partials` } } : {}),
    }),
  );
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR!, topic)}`] : [];
  const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', ...prof, join(checkout.root, 'apps/relay/src/cli.ts'), 'run', '--config', file], {
    cwd: checkout.root,
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
  // Generous: start-up is at the mercy of everything else on the machine.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const started = logs.find((l) => l.msg === 'relay started');
    // The repartition stage (when there is one) adds the partials topic's partitions to the group's assignment.
    const stage = logs.find((l) => String(l.msg).startsWith('repartition stage ready'));
    const restored = logs.filter((l) => l.msg === 'partition restored');
    if (started && restored.length >= PARTITIONS + Number(stage?.partitions ?? 0)) {
      const restoredAt = Math.max(...restored.map((l) => Number(l.time)));
      const relay = { child, url: String(started.url), pid: child.pid!, logs, restoredAt, profiled: profile, repartition: stage !== undefined };
      children.set(relay.url, relay);
      return relay;
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`relay did not start: ${JSON.stringify(logs.slice(-3))}`);
    }
    await sleep(20);
  }
}

function stop(r: RelayChild): Promise<void> {
  children.delete(r.url);
  return new Promise((res) => {
    if (r.child.exitCode !== null) return res();
    r.child.once('exit', () => res());
    if (!r.profiled) return r.child.kill('SIGKILL');
    // A profile is written only on a normal exit.
    r.child.kill('SIGTERM');
    setTimeout(() => r.child.kill('SIGKILL'), 60_000).unref();
  });
}

/**
 * Creates a topic and waits for its leaders. kafkajs' own create can fail on a busy broker after the topic was created
 * (a metadata refresh answered "does not host this topic-partition"): what counts is that the topic ends up led.
 */
async function createTopic(env: Env, topic: string): Promise<void> {
  await env.admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: false, timeout: 60_000 }).catch((err: unknown) => log(`create ${topic}: ${(err as Error).message}; waiting for it anyway`));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const led = await env.admin
      .fetchTopicMetadata({ topics: [topic] })
      .then((m) => m.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0)
      .catch(() => 0);
    if (led === PARTITIONS) return;
    if (Date.now() > deadline) throw new Error(`topic ${topic}: ${led} of ${PARTITIONS} partitions led after 120 s`);
    await sleep(200);
  }
}

interface MetricSample {
  labels: Record<string, string>;
  value: number;
}
/** The relay's /metrics; a refused or reset connection is retried a few times (a busy machine), a dead relay is named. */
async function scrape(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
    } catch (err) {
      const child = children.get(url);
      if (child && child.child.exitCode !== null) {
        throw new Error(`the relay exited (code ${child.child.exitCode}, signal ${child.child.signalCode}); last log lines: ${JSON.stringify(child.logs.slice(-3))}`);
      }
      if (child && child.child.signalCode !== null) throw new Error(`the relay was killed (${child.child.signalCode}); last log lines: ${JSON.stringify(child.logs.slice(-3))}`);
      if (attempt >= 5) throw err;
      log(`scrape ${url}: ${(err as Error).message} (${String((err as Error).cause ?? '')}); retrying`);
      await sleep(1000 * attempt);
    }
  }
}
function samplesOf(text: string, name: string): MetricSample[] {
  const out: MetricSample[] = [];
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}
/** Sum of a metric's samples whose labels include `match`; 0 when the relay has no such metric. */
function sumOf(text: string, name: string, match: Record<string, string> = {}): number {
  return samplesOf(text, name)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/**
 * Until every record of `topic` is consumed: at least `produced`, and on every partition as far as its high watermark
 * read after the relay's counters (pushes forwarded to their home partition are records too, produced before the
 * record that caused them counts as consumed).
 */
async function waitInputConsumed(env: Env, r: RelayChild, topic: string, produced: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const consumed = samplesOf(await scrape(r.url), 'prom_relay_messages_consumed_total').filter((s) => s.labels.topic === topic);
    const highs = await env.admin.fetchTopicOffsets(topic);
    const total = consumed.reduce((n, s) => n + s.value, 0);
    const behind = highs.filter((h) => (consumed.find((s) => s.labels.partition === String(h.partition))?.value ?? 0) < Number(h.high));
    if (process.env.BENCH_TRACE) log(`consumed ${total} at ${Date.now()}`);
    if (total >= produced && behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`consumed ${total} of ${produced} before the deadline`);
    await sleep(POLL_MS);
  }
}

/** An instant query's first value; a query that times out on a busy machine is asked again. */
async function promValue(prom: PrometheusServer, promql: string): Promise<number | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await prom.query(promql))[0]?.value;
    } catch (err) {
      if (attempt >= 10) throw err;
      log(`${promql}: ${(err as Error).message}; asking again`);
      await sleep(2000);
    }
  }
}

async function waitPrometheus(prom: PrometheusServer, promql: string, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  for (;;) {
    last = await promValue(prom, promql);
    if (last === expected) return;
    if (Date.now() > deadline) throw new Error(`${promql} read ${last}, not ${expected}, before the deadline`);
    await sleep(100);
  }
}

/** The next successful flush(es), from the relay's own flush histogram: their summed duration and how many; `onPoll` each poll. */
async function nextFlush(url: string, onPoll?: () => void): Promise<{ seconds: number; count: number }> {
  const count = (t: string) => sumOf(t, 'prom_relay_flush_duration_seconds_count', { result: 'success' });
  const sum = (t: string) => sumOf(t, 'prom_relay_flush_duration_seconds_sum', { result: 'success' });
  const before = await scrape(url);
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('no successful flush within 180 s');
    await sleep(POLL_MS);
    onPoll?.();
    const now = await scrape(url);
    const n = count(now) - count(before);
    if (n > 0) return { seconds: sum(now) - sum(before), count: n };
  }
}

const brokerCpu = (env: Env) => (env.brokerPid === undefined ? Number.NaN : cpuSeconds(env.brokerPid));

interface IngestFigures {
  samples: number;
  messages: number;
  /** wall: relay's last restore to the last record consumed */
  samplesPerSec: number;
  cpuPerM: number;
  brokerCpuPerM: number;
  /** to the exact totals in Prometheus */
  sinkSamplesPerSec: number;
  sinkCpuPerM: number;
  sinkBrokerCpuPerM: number;
  forwarded: number;
  partialsPublished: number;
  flushes: number;
  outSeries: number;
}

async function ingestRun(env: Env, checkout: Checkout, tag: string, placement: Placement, profile: boolean): Promise<IngestFigures> {
  const topic = `bench-ingest-${placement}-${tag}`;
  await createTopic(env, topic);
  const { messages, expected } = ingestMessages(`${tag}-${placement}`, placement);
  const samples = messages.length * 100;
  await produceAll(env.kafka, topic, messages);
  const r = await startRelay(env, checkout, topic, '2s', profile);
  const cpu0 = cpuSeconds(r.pid);
  const broker0 = brokerCpu(env);
  await waitInputConsumed(env, r, topic, messages.length, 600_000);
  const doneAt = Date.now();
  const cpu1 = cpuSeconds(r.pid);
  const broker1 = brokerCpu(env);
  // Then on until Prometheus holds the exact totals: the flush(es) that carry the last pushes out are counted too.
  // Without the repartition stage a series fed from several partitions never gets its exact total there: not measured.
  const exact = r.repartition || placement === 'emitter';
  if (exact) await waitPrometheus(env.prom, `sum(bench_rows_total{job=~"bench-${tag}-${placement}-.*"})`, expected, 600_000);
  const sinkAt = exact ? Date.now() : Number.NaN;
  const cpu2 = cpuSeconds(r.pid);
  const broker2 = brokerCpu(env);
  const m = await scrape(r.url);
  await stop(r);
  const perM = (cpu: number) => cpu / (samples / 1e6);
  return {
    samples,
    messages: messages.length,
    samplesPerSec: samples / ((doneAt - r.restoredAt) / 1000),
    cpuPerM: perM(cpu1 - cpu0),
    brokerCpuPerM: perM(broker1 - broker0),
    sinkSamplesPerSec: samples / ((sinkAt - r.restoredAt) / 1000),
    sinkCpuPerM: exact ? perM(cpu2 - cpu0) : Number.NaN,
    sinkBrokerCpuPerM: exact ? perM(broker2 - broker0) : Number.NaN,
    forwarded: sumOf(m, 'prom_relay_pushes_forwarded_total'),
    partialsPublished: sumOf(m, 'prom_relay_partials_published_total'),
    flushes: sumOf(m, 'prom_relay_flush_duration_seconds_count', { result: 'success' }),
    outSeries: sumOf(m, 'prom_relay_active_series', { topic }),
  };
}

interface FlushFigures {
  series: number;
  /** from the last record consumed to every series in Prometheus: summed durations of the flushes it took */
  firstSeconds: number;
  firstFlushes: number;
  steady: number[];
  cpuPerFlush: number;
  brokerCpuPerFlush: number;
  partialsPerFlush: number;
  rssPerSeries: number;
  rssPerSeriesFlushed: number;
  /** RSS read at every poll over the steady flushes, its mean: the single reading above lands anywhere between GCs */
  rssPerSeriesSteadyMean: number;
  owned: number;
  /**
   * Every series fed again (by new producers: each counter's total moves): the relay's CPU from the last record consumed
   * until the owners' flush after the publish, the flushes it took and the partials they published.
   */
  publish: { cpu: number; flushes: number; partials: number };
}

async function flushRun(env: Env, checkout: Checkout, tag: string, profile: boolean, sendMetadata = true): Promise<FlushFigures> {
  const topic = `bench-100k-${tag}${sendMetadata ? '' : '-nometa'}`;
  // Series of their own in Prometheus (the count below waits for them): `${tag}a…` with metadata, `${tag}n…` without.
  const shard = `${tag}${sendMetadata ? 'a' : 'n'}`;
  await createTopic(env, topic);
  const r = await startRelay(env, checkout, topic, '4s', profile, sendMetadata);
  await sleep(1000);
  const base = rssBytes(r.pid);
  const messages = distinctSeriesMessages(FLUSH_SERIES, shard);
  await produceAll(env.kafka, topic, messages);
  await waitInputConsumed(env, r, topic, messages.length, 300_000);
  await sleep(300);
  const rss = rssBytes(r.pid);
  // First: every flush until all the series are in Prometheus (with the repartition stage: the source partitions'
  // flush publishes the partials, the owners' next flush writes them).
  let firstSeconds = 0;
  let firstFlushes = 0;
  for (;;) {
    const f = await nextFlush(r.url);
    firstSeconds += f.seconds;
    firstFlushes += f.count;
    const inProm = (await promValue(env.prom, `count(bench_series_total{shard=~"${shard}.*"})`)) ?? 0;
    if (inProm >= FLUSH_SERIES) break;
    if (firstFlushes > 20) throw new Error(`only ${inProm} series in Prometheus after ${firstFlushes} flushes`);
  }
  // Steady state: several flushes (one is at the mercy of the other processes), and the relay's CPU over them,
  // which includes what happens between flushes (owners reading and combining the partials).
  const m0 = await scrape(r.url);
  const cpu0 = cpuSeconds(r.pid);
  const broker0 = brokerCpu(env);
  const steady: number[] = [];
  let steadyFlushes = 0;
  const rssReadings: number[] = [];
  while (steadyFlushes < STEADY_FLUSHES) {
    const f = await nextFlush(r.url, () => rssReadings.push(rssBytes(r.pid)));
    for (let i = 0; i < f.count; i++) steady.push(f.seconds / f.count);
    steadyFlushes += f.count;
  }
  const cpu1 = cpuSeconds(r.pid);
  const broker1 = brokerCpu(env);
  const m1 = await scrape(r.url);
  const rssFlushed = rssBytes(r.pid);
  const series = sumOf(m1, 'prom_relay_active_series', { topic });
  const publish = await publishingFlush(env, r, topic, shard, messages.length);
  await stop(r);
  return {
    series,
    firstSeconds,
    firstFlushes,
    steady,
    cpuPerFlush: (cpu1 - cpu0) / steadyFlushes,
    brokerCpuPerFlush: (broker1 - broker0) / steadyFlushes,
    partialsPerFlush: (sumOf(m1, 'prom_relay_partials_published_total') - sumOf(m0, 'prom_relay_partials_published_total')) / steadyFlushes,
    rssPerSeries: (rss - base) / series,
    rssPerSeriesFlushed: (rssFlushed - base) / series,
    rssPerSeriesSteadyMean: (rssReadings.reduce((a, b) => a + b, 0) / rssReadings.length - base) / series,
    owned: sumOf(m1, 'prom_relay_output_series_owned'),
    publish,
  };
}

/**
 * The steady flushes publish nothing (no series changed); this one publishes every series: each fed again by a new
 * producer, then the relay's CPU from the last record consumed through the flush that publishes the partials and the
 * owners' flush that writes what they combined (the source's collect and encoding, the owners' apply, collect and
 * Remote Write, both checkpoints).
 */
async function publishingFlush(env: Env, r: RelayChild, topic: string, shard: string, before: number): Promise<FlushFigures['publish']> {
  const published = async () => sumOf(await scrape(r.url), 'prom_relay_partials_published_total');
  const p0 = await published();
  const again = distinctSeriesMessages(FLUSH_SERIES, shard);
  await produceAll(env.kafka, topic, again);
  await waitInputConsumed(env, r, topic, before + again.length, 300_000);
  const cpu0 = cpuSeconds(r.pid);
  let flushes = 0;
  while ((await published()) - p0 < FLUSH_SERIES) {
    flushes += (await nextFlush(r.url)).count;
    if (flushes > 10) throw new Error(`${(await published()) - p0} partials published in ${flushes} flushes`);
  }
  flushes += (await nextFlush(r.url)).count;
  return { cpu: cpuSeconds(r.pid) - cpu0, flushes, partials: (await published()) - p0 };
}

interface MemFigures {
  series: number;
  rssPerSeries: number;
}

async function memRun(env: Env, checkout: Checkout, tag: string): Promise<MemFigures> {
  const topic = `bench-1m-${tag}`;
  await createTopic(env, topic);
  const r = await startRelay(env, checkout, topic, '1h', false);
  await sleep(1000);
  const base = rssBytes(r.pid);
  for (let part = 0; part < BIG / 200_000; part++) await produceAll(env.kafka, topic, distinctSeriesMessages(200_000, `${tag}b${part}-`));
  await waitInputConsumed(env, r, topic, BIG / 100, 600_000);
  await sleep(2000);
  const rss = rssBytes(r.pid);
  const series = sumOf(await scrape(r.url), 'prom_relay_active_series', { topic });
  await stop(r);
  return { series, rssPerSeries: (rss - base) / series };
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
    labels: { __name__: 'bench_peer_series_total', job: `mem-${Math.floor(k / 100) % 100}`, shard: `p${Math.floor(k / 100)}`, idx: String(k % 100) },
    samples: [{ value: (k % 100) + 1, timestamp: ts }],
  }));
  const t0 = performance.now();
  const res = await peerRw.pushTimeseries(series, { url: prom.remoteWriteUrl, timeout: 60_000, fetch });
  const s = (performance.now() - t0) / 1000;
  if (res.status >= 300) log(`peer push answered ${res.status} ${res.errorMessage ?? ''}`);
  return s;
}

interface RunFigures {
  ingest: Partial<Record<Placement, IngestFigures>>;
  flush?: FlushFigures;
  /** the same flush with `remote_write.send_metadata: false` (current tree only) */
  flushNoMeta?: FlushFigures;
  mem?: MemFigures;
}

/** One part of a run; a failure is logged and noted in the section, and the other parts still run. */
async function part<T>(what: string, failures: string[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log(`${what} failed: ${err instanceof Error ? (err.stack ?? msg) : msg}`);
    failures.push(`${what}: ${msg.slice(0, 300)}`);
    killAll();
    return undefined;
  }
}

async function runAll(env: Env, checkout: Checkout, tag: string, profile: boolean, failures: string[]): Promise<RunFigures> {
  const out: RunFigures = { ingest: {} };
  const what = (p: string) => `round ${tag.slice(1, tag.indexOf('v'))}, ${checkout.label}, ${p}`;
  if (PARTS.has('ingest')) {
    for (const placement of ['emitter', 'scattered'] as const) {
      const f = await part(what(`ingest (${placement})`), failures, () => ingestRun(env, checkout, tag, placement, profile));
      if (!f) continue;
      out.ingest[placement] = f;
      log(`${tag} ${checkout.label} ingest (${placement}): ${fmt(f.samplesPerSec)} samples/s, ${f.cpuPerM.toFixed(3)} relay CPU-s/M (broker ${f.brokerCpuPerM.toFixed(3)}); to Prometheus ${fmt(f.sinkSamplesPerSec)} samples/s, ${f.sinkCpuPerM.toFixed(3)} CPU-s/M (broker ${f.sinkBrokerCpuPerM.toFixed(3)}); forwarded ${f.forwarded} of ${f.messages}, partials ${f.partialsPublished}, flushes ${f.flushes}, series ${f.outSeries}`);
    }
  }
  const logFlush = (f: FlushFigures, variant: string) =>
    log(`${tag} ${checkout.label} flush ${f.series}${variant}: first ${f.firstSeconds.toFixed(3)} s in ${f.firstFlushes} flush(es), steady ${f.steady.map((s) => s.toFixed(3)).join(' ')} s, ${f.cpuPerFlush.toFixed(3)} relay CPU-s per flush (broker ${f.brokerCpuPerFlush.toFixed(3)}), partials/flush ${fmt(f.partialsPerFlush)}, owned ${f.owned}; publishing flush ${f.publish.cpu.toFixed(3)} relay CPU-s in ${f.publish.flushes} flush(es), ${fmt(f.publish.partials)} partials; RSS/series ${fmt(f.rssPerSeries)} B, flushed ${fmt(f.rssPerSeriesFlushed)} B, mean over the steady flushes ${fmt(f.rssPerSeriesSteadyMean)} B`);
  if (PARTS.has('flush')) {
    // Beside it, the flush without metadata (a relay that knows send_metadata), first or second by turns.
    const noMeta = knowsSendMetadata(checkout);
    const round = Number(tag.slice(1, tag.indexOf('v')));
    for (const withMeta of noMeta && round % 2 === 1 ? [false, true] : noMeta ? [true, false] : [true]) {
      const f = await part(what(withMeta ? 'flush' : 'flush without metadata'), failures, () => flushRun(env, checkout, tag, profile, withMeta));
      if (withMeta) out.flush = f;
      else out.flushNoMeta = f;
      if (f) logFlush(f, withMeta ? '' : ' (send_metadata: false)');
    }
  }
  const m = PARTS.has('mem') ? (out.mem = await part(what(`${fmt(BIG)} series`), failures, () => memRun(env, checkout, tag))) : undefined;
  if (m) log(`${tag} ${checkout.label} RSS per series at ${m.series}: ${fmt(m.rssPerSeries)} B`);
  return out;
}

/** Whether the relay of this checkout has `remote_write.send_metadata` (its config schema refuses unknown keys). */
function knowsSendMetadata(checkout: Checkout): boolean {
  return readFileSync(join(checkout.root, 'apps/relay/src/config/schema.ts'), 'utf8').includes('send_metadata');
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** The median of the rounds, with every round's figure when there are several. */
function cell(xs: number[], f: (n: number) => string): string {
  if (xs.length === 0) return '';
  if (xs.length === 1) return f(xs[0]!);
  return `${f(median(xs))} (${xs.map(f).join(', ')})`;
}
function ratio(before: number[], after: number[]): string {
  if (before.length === 0 || after.length === 0 || !(median(before) > 0)) return '';
  return `${(median(after) / median(before)).toFixed(2)}×`;
}

async function main(): Promise<void> {
  const current = currentCheckout(REPO);
  const baseline = BASELINE === 'none' ? undefined : baselineCheckout(REPO, BASELINE, process.env.BENCH_BASELINE_DIR);
  const checkouts = baseline ? [baseline, current] : [current];
  log(`relays: ${checkouts.map((c) => `${c.label} (${c.root})`).join(', ')}; ${ROUNDS} round(s), parts ${[...PARTS].join(',')}`);
  log('starting Kafka and Prometheus');
  const [kafka, prom] = await Promise.all([startKafka({ heap: '1g', startTimeoutMs: 300_000 }), PROMETHEUS3 ? startPrometheus3() : startPrometheus()]);
  const client = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  const env: Env = { kafka, prom, admin, brokerPid: findPid('java', 'kafka.Kafka', dirname(kafka.logFile)) };
  const runs = new Map<Checkout, RunFigures[]>(checkouts.map((c) => [c, []]));
  const rows: string[] = [];
  const failures: string[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of checkouts.entries()) {
        runs.get(c)!.push(await runAll(env, c, `r${round}v${i}`, PROFILE_DIR !== undefined && c === current, failures));
      }
    }
    const ingest = ingestMessages('peer', 'emitter').messages;
    const ceiling = PARTS.has('ingest') ? inProcessRate(ingest) : Number.NaN;
    const peerFlush = PARTS.has('flush') ? await peerFlushSeconds(prom, FLUSH_SERIES) : Number.NaN;
    const peer100k = PARTS.has('flush') ? await promClientBytesPerSeries(FLUSH_SERIES) : Number.NaN;
    const peer1m = PARTS.has('mem') ? await promClientBytesPerSeries(BIG) : Number.NaN;
    log(`peers: in-process ${fmt(ceiling)} samples/s, prometheus-remote-write ${FLUSH_SERIES} series ${peerFlush.toFixed(3)} s, prom-client RSS/series ${fmt(peer100k)} / ${fmt(peer1m)} B`);
    rows.push(...section(checkouts, runs, kafka.version, { ceiling, peerFlush, peer100k, peer1m }));
    if (failures.length) rows.push('', 'Parts that failed in this run (their cells hold the other rounds only):', ...failures.map((f) => `- ${f}`));
    // Nothing measured at all: a failure for bench/run.mjs, which then keeps the last good figures.
    if ([...runs.values()].flat().every((r) => !r.flush && !r.mem && Object.keys(r.ingest).length === 0)) throw new Error('every part failed');
  } finally {
    killAll();
    await admin.disconnect().catch(() => undefined);
    await Promise.allSettled([kafka.stop(), prom.stop()]);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

interface Peers {
  ceiling: number;
  peerFlush: number;
  peer100k: number;
  peer1m: number;
}

function section(checkouts: Checkout[], runs: Map<Checkout, RunFigures[]>, kafkaVersion: string, peers: Peers): string[] {
  const [before, after] = checkouts.length === 2 ? checkouts : [undefined, checkouts[0]!];
  const pick = (c: Checkout | undefined, get: (r: RunFigures) => number | undefined): number[] =>
    c === undefined ? [] : runs.get(c)!.map(get).filter((n): n is number => n !== undefined && Number.isFinite(n));
  const row = (measure: string, get: (r: RunFigures) => number | undefined, f: (n: number) => string, peer = '') => {
    const b = pick(before, get);
    const a = pick(after, get);
    if (a.length === 0 && b.length === 0) return [];
    return [before ? `| ${measure} | ${cell(b, f) || '—'} | ${cell(a, f) || '—'} | ${ratio(b, a)} | ${peer} |` : `| ${measure} | ${cell(a, f)} | ${peer} |`];
  };
  const n0 = (n: number) => fmt(n);
  const s3 = (n: number) => `${n.toFixed(3)} s`;
  const c3 = (n: number) => n.toFixed(3);
  const bytes = (n: number) => `${fmt(n)} B`;
  const ing = (p: Placement) => (r: RunFigures) => r.ingest[p];
  const any = [...runs.values()].flat();
  const e = any.find((r) => r.ingest.emitter)?.ingest.emitter;
  const fl = any.find((r) => r.flush)?.flush;
  const head = before
    ? [`| measure | before the repartition stage (${before.label}) | after (${after!.label}) | after ÷ before | peer |`, '| --- | ---: | ---: | ---: | ---: |']
    : ['| measure | prom-relay | peer |', '| --- | ---: | ---: |'];
  const lines = [
    '## Relay: one process with the real broker and Prometheus',
    '',
    `Workload: \`prom-relay run\` as a child process, Kafka ${kafkaVersion} and ${RECEIVER} on the same 2-core machine.`,
    before
      ? `The relay of ${before.label} (the last commit before the repartition stage) and of the current tree (${after!.label}) ran interleaved, ${ROUNDS} rounds (before, after, before, after …) against the same broker and Prometheus in one session; each cell is the median of the rounds with every round in brackets.`
      : `${ROUNDS} round(s); each cell is the median of the rounds with every round in brackets.`,
    '',
    `Ingest: a backlog of ${fmt(e?.messages ?? INGEST_PRODUCERS * INGEST_PUSHES)} messages on ${PARTITIONS} partitions, each 100 samples of text exposition`,
    `(61 cumulative counters + 3 histograms of 11 buckets with sum and count) from ${fmt(INGEST_PRODUCERS)} short-lived producers`,
    `(a UUID each, ${INGEST_PUSHES} pushes each), ${fmt(e?.outSeries ?? Number.NaN)} output series, flush interval 2 s. Two placements of the same pushes:`,
    "*emitter* — partitioned by the message key (`job=…`) with kafkajs' default partitioner, as `@prom-relay/emitter`, the",
    'HTTP ingest and the Java client write them: every push on its home partition (the relay applies a push where murmur2 puts',
    'its key), every input of an output series on one partition: the single-partition case; *scattered* — each push on the',
    "partition murmur2 gives its producer id instead: 3 pushes in 4 land off their home and are forwarded (the cost of a client",
    "whose partitioner disagrees with the key's, e.g. librdkafka's default CRC32); every output series is fed from all partitions,",
    'which only the repartition stage totals exactly (before it, Prometheus never holds the exact totals: no "to Prometheus" before figure).',
    "Rates: input samples over the wall time from the relay's last partition restored (its own log time) to the last record",
    'consumed (`prom_relay_messages_consumed_total` of the input topic up to every partition\'s high watermark, forwarded',
    'copies included); CPU: the relay process\'s user + system time (/proc/<pid>/stat) over the same window, per million',
    "input samples (the broker's CPU beside it: forwarded pushes and partials go through it). \"To Prometheus\": the same",
    'from the restore until `sum(bench_rows_total)` in Prometheus equals the exact total the producers emitted, so the',
    'flushes that carry the last pushes out — with the repartition stage: publishing the partials, the owners reading and',
    'combining them, and their Remote Write — are inside the window.',
    '',
    `Flush: ${fmt(FLUSH_SERIES)} active output series (100 per message, each from its own producer), flush interval 4 s. "First":`,
    'the summed durations (`prom_relay_flush_duration_seconds`) of the flushes from the last record consumed until all',
    `${fmt(FLUSH_SERIES)} series are in Prometheus (\`count()\` there) — one flush before the repartition stage; with it the source`,
    "partitions' flush publishes the partials and the owners' next flush writes them, so two flushes and one more flush interval",
    'of latency. "Steady": the median of the next 5 flushes; each one is a snapshot of every partition, the checkpoint (gzip,',
    'compacted topic, acks -1) and, at once, Remote Write of the owned series and (with the stage) the publish of every live',
    "series' partial. CPU per flush: the relay's CPU over those 5 flushes (what happens between them included: owners reading",
    `the partials) divided by 5. The peer pushes the same number of series once with prometheus-remote-write ${peerRwVersion}.`,
    'Memory: the relay process\'s RSS growth (/proc VmRSS, no forced GC; at 1M no flush ran, so no partials exist yet) divided',
    'by the output series of its source partitions; the peer is prom-client 15 holding the same label sets in one Counter,',
    'measured the same way in a fresh process. After flushes: one reading after the 5 steady flushes, and the mean of the',
    `readings taken every ${POLL_MS} ms over them (garbage of the flushes rises and falls between full GCs: one reading lands`,
    'anywhere in that range). The relay runs at V8\'s default heap limit (see deploy/README.md for what a limit changes).',
    '',
    'Measurement changes with the repartition stage (2026-12-01; both columns measured the new way): the relay consumes its',
    'partials topic too and forwards pushes as new records, so "consumed" is the input topic\'s counter up to every',
    "partition's high watermark, not the message count; the series counts are the source partitions' (owners hold the same",
    'series again); the first flush runs until every series is in Prometheus, two flushes with the stage; rates have the',
    "relay's CPU-seconds beside them, and the ingest also runs on to the exact totals in Prometheus; the peer push writes",
    'series new to Prometheus (it used to overwrite the ones the relay had just written).',
    '',
    ...head,
    ...row('ingest, input samples/s (emitter placement)', (r) => ing('emitter')(r)?.samplesPerSec, n0, `${fmt(peers.ceiling)} (decode + aggregate in-process, no Kafka)`),
    ...row('ingest, relay CPU-s per million input samples (emitter placement)', (r) => ing('emitter')(r)?.cpuPerM, c3),
    ...row('  broker CPU-s per million input samples, same window', (r) => ing('emitter')(r)?.brokerCpuPerM, c3),
    ...row('  pushes forwarded to their home partition', (r) => ing('emitter')(r)?.forwarded, n0),
    ...row('ingest to exact totals in Prometheus, input samples/s (emitter placement)', (r) => ing('emitter')(r)?.sinkSamplesPerSec, n0),
    ...row('  relay CPU-s per million input samples, same window', (r) => ing('emitter')(r)?.sinkCpuPerM, c3),
    ...row('ingest, input samples/s (scattered placement)', (r) => ing('scattered')(r)?.samplesPerSec, n0),
    ...row('ingest, relay CPU-s per million input samples (scattered placement)', (r) => ing('scattered')(r)?.cpuPerM, c3),
    ...row('  broker CPU-s per million input samples, same window', (r) => ing('scattered')(r)?.brokerCpuPerM, c3),
    ...row('ingest to exact totals in Prometheus, input samples/s (scattered placement)', (r) => ing('scattered')(r)?.sinkSamplesPerSec, n0),
    ...row('  relay CPU-s per million input samples, same window', (r) => ing('scattered')(r)?.sinkCpuPerM, c3),
    ...row('  partials published during the scattered ingest', (r) => ing('scattered')(r)?.partialsPublished, n0),
    ...row(`flush of ${fmt(fl?.series ?? FLUSH_SERIES)} series, first (new series, until all are in Prometheus)`, (r) => r.flush?.firstSeconds, s3, `${fmt(peers.peerFlush, 3)} s (prometheus-remote-write, send only)`),
    ...row('  flushes it took', (r) => r.flush?.firstFlushes, n0),
    ...row(`flush of ${fmt(fl?.series ?? FLUSH_SERIES)} series, steady state (median of ${STEADY_FLUSHES})`, (r) => (r.flush ? median(r.flush.steady) : undefined), s3),
    ...row(`  slowest of the ${STEADY_FLUSHES}`, (r) => (r.flush ? Math.max(...r.flush.steady) : undefined), s3),
    ...row('  relay CPU-s per flush cycle (steady state)', (r) => r.flush?.cpuPerFlush, c3),
    ...row('  broker CPU-s per flush cycle', (r) => r.flush?.brokerCpuPerFlush, c3),
    ...row('  partials published per flush', (r) => r.flush?.partialsPerFlush, n0),
    ...row(`a publishing flush: every series fed again, relay CPU-s from the last record consumed to the owners' write`, (r) => r.flush?.publish.cpu, c3),
    ...row('  flushes it took (the publish, the owners\' write)', (r) => r.flush?.publish.flushes, n0),
    ...row('  partials published', (r) => r.flush?.publish.partials, n0),
    ...row(`RSS per active output series at ${fmt(fl?.series ?? FLUSH_SERIES)}`, (r) => r.flush?.rssPerSeries, bytes, `${fmt(peers.peer100k)} B (prom-client)`),
    ...row(`  same, after ${STEADY_FLUSHES}+ flushes (owners' state and garbage not yet collected included)`, (r) => r.flush?.rssPerSeriesFlushed, bytes),
    ...row(`  same, mean over the ${STEADY_FLUSHES} flushes (RSS read every ${POLL_MS} ms)`, (r) => r.flush?.rssPerSeriesSteadyMean, bytes),
    ...row(`RSS per active output series at ${fmt(any.find((r) => r.mem)?.mem?.series ?? BIG)}`, (r) => r.mem?.rssPerSeries, bytes, `${fmt(peers.peer1m)} B (prom-client)`),
  ];
  lines.push(...metadataTable(after!, pick, { s3, c3, bytes, n0 }));
  if (before) {
    const both = (get: (r: RunFigures) => number | undefined) => [pick(before, get), pick(after!, get)] as const;
    lines.push('', ...costs(both((r) => r.flush?.cpuPerFlush), pick(after!, (r) => r.flush?.partialsPerFlush), both((r) => r.ingest.emitter?.cpuPerM), pick(after!, (r) => r.ingest.emitter?.forwarded), e?.messages, both((r) => r.ingest.scattered?.cpuPerM), any.find((r) => r.ingest.scattered)?.ingest.scattered));
  }
  return lines;
}

/** The flush of the current tree with metadata beside the same flush with `remote_write.send_metadata: false`. */
function metadataTable(
  current: Checkout,
  pick: (c: Checkout | undefined, get: (r: RunFigures) => number | undefined) => number[],
  f: Record<'s3' | 'c3' | 'bytes' | 'n0', (n: number) => string>,
): string[] {
  const rows: string[] = [];
  const row = (measure: string, get: (fl: FlushFigures) => number, format: (n: number) => string) => {
    const w = pick(current, (r) => (r.flush ? get(r.flush) : undefined));
    const wo = pick(current, (r) => (r.flushNoMeta ? get(r.flushNoMeta) : undefined));
    if (w.length && wo.length) rows.push(`| ${measure} | ${cell(w, format)} | ${cell(wo, format)} | ${ratio(wo, w)} |`);
  };
  row(`flush of ${fmt(FLUSH_SERIES)} series, steady state (median of ${STEADY_FLUSHES})`, (fl) => median(fl.steady), f.s3);
  row('  relay CPU-s per flush cycle (steady state)', (fl) => fl.cpuPerFlush, f.c3);
  row('  broker CPU-s per flush cycle', (fl) => fl.brokerCpuPerFlush, f.c3);
  row(`flush of ${fmt(FLUSH_SERIES)} series, first (new series, until all are in Prometheus)`, (fl) => fl.firstSeconds, f.s3);
  row(`RSS per active output series at ${fmt(FLUSH_SERIES)}`, (fl) => fl.rssPerSeries, f.bytes);
  row(`  same, after ${STEADY_FLUSHES}+ flushes`, (fl) => fl.rssPerSeriesFlushed, f.bytes);
  row(`  same, mean over the ${STEADY_FLUSHES} flushes`, (fl) => fl.rssPerSeriesSteadyMean, f.bytes);
  if (rows.length === 0) return [];
  return [
    '',
    `Metadata (issue 11): the flush above (${current.label}) with its metadata (\`remote_write.send_metadata: true\`, the default: the family's`,
    "type, and help where the input has it — here one counter family) beside the same relay with `send_metadata: false`, measured in",
    `the same rounds (order alternating), receiver ${RECEIVER}.`,
    '',
    '| measure | with metadata | without | with ÷ without |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ];
}

/** Where the repartition stage costs, from this run's figures. */
type Pair = readonly [before: number[], after: number[]];
function costs([flushBefore, flushAfter]: Pair, partials: number[], [ingestBefore, ingestAfter]: Pair, forwarded: number[], messages: number | undefined, [homeBefore, homeAfter]: Pair, home: IngestFigures | undefined): string[] {
  const out = ['Where the repartition stage costs, from the figures above:'];
  if (flushBefore.length && flushAfter.length && partials.length) {
    const perK = ((median(flushAfter) - median(flushBefore)) / (median(partials) / 1000)) * 1000;
    out.push(
      `- per flush, in proportion to the live output series (not to input samples): every flush each source partition publishes`,
      `  one partial per live series and the owners read and combine them — ${fmt(median(partials))} partials per flush here, ${fmt(perK, 2)} ms of`,
      `  relay CPU per 1,000 live series per flush more than before; at the default 10 s flush interval that is`,
      // perK ms per 1,000 series per flush = perK / 10 s per 100,000 series per 10 s flush = perK % of a core.
      `  ${fmt(perK, 1)} % of a core per 100,000 live series (${fmt(perK * 10, 0)} % per million), whatever the input rate;`,
    );
  }
  if (ingestBefore.length && ingestAfter.length && forwarded.length && messages) {
    out.push(
      `- the single-partition case (the emitter's partitioning, every push home, ${fmt(median(forwarded))} forwarded): the relay's CPU per million input`,
      `  samples went from ${median(ingestBefore).toFixed(3)} to ${median(ingestAfter).toFixed(3)} s (the partials of every live series each flush, and the owners combining them);`,
    );
  }
  if (homeBefore.length && homeAfter.length) {
    out.push(
      `- per push that lands off its home partition (the scattered placement): forwarded — produced again, acknowledged, consumed and`,
      `  decoded again: the relay's CPU per million input samples was ${median(homeBefore).toFixed(3)} s before (without exact totals) and ${median(homeAfter).toFixed(3)} s after.`,
    );
  }
  return out;
}

const run = process.argv[2] === 'prom-client-rss' ? promClientRssChild(Number(process.argv[3])) : main();
run.catch((err: unknown) => {
  process.stderr.write(`relay bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
