// The aggregating relay's steady-state RSS under V8 heap settings (issue 14 goal 4): one `prom-relay run` child per
// setting holding 100,000 active output series (no input after the first flushes), flushing every 4 s to a Remote
// Write receiver that answers 204 and discards; over BENCH_HEAP_FLUSHES steady flushes (12), after 3 to warm up:
// RSS (/proc VmRSS read every 100 ms: mean and peak, minus the RSS before the series arrived, per series), the relay's
// CPU per flush cycle (/proc utime + stime, its threads included, over whole cycles), major GCs per flush and their
// time (prom-client's `nodejs_gc_duration_seconds`, kind="major"; its "incremental" marking steps beside them), and
// the smallest and largest V8 heap used the bench's /metrics reads saw (the smallest is about the live heap, read
// after a major GC). The settings of one round run one after the other, the order rotating by round. CPU-seconds are
// the relay's own: other processes on the machine slow it but are not counted; the load average is printed with each
// row.
// Run: node --conditions=@prom-relay/source --import tsx bench/diagnosis/aggregator-heap.ts   (prints a markdown table)
// Options: BENCH_HEAP_VARIANTS: settings separated by `;`, each a `,`-separated list of
//   `default` (the relay's own config defaults), `old=<MiB>` (node --max-old-space-size),
//   `env:<NAME>=<value>` (an environment variable of the relay, e.g. env:PROM_RELAY_AGGREGATION__HEAP_GROWING_PERCENT=0),
//   `gp=<percent>` / `semi=<MiB>` (a preload that calls keepHeapSmall({ heapGrowingPercent, semiSpaceMiB }) at start,
//   first, so it wins over the relay's own policy: settings the config has no key for);
//   default: the key at 0 (V8's own growth), the relay's default, the key at 100, and the first two at
//   --max-old-space-size=1536 (deploy/'s example);
// BENCH_HEAP_ROUNDS (2), BENCH_HEAP_FLUSHES (12), BENCH_HEAP_SERIES (100000), BENCH_HEAP_INTERVAL (flush.interval,
// 4s); BENCH_HEAP_TREE=<commit>: the relay of that commit (a worktree beside the repository, bench/lib/baseline.ts)
// instead of the working tree, which other work may change during a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startKafka, type KafkaServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { stringify } from 'yaml';
import { baselineCheckout, currentCheckout } from '../lib/baseline.js';
import { cpuSeconds, rssBytes } from '../lib/proc.js';

const CHECKOUT = (() => {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  return process.env.BENCH_HEAP_TREE ? baselineCheckout(repo, process.env.BENCH_HEAP_TREE) : currentCheckout(repo);
})();
const REPO = CHECKOUT.root;
const log = (msg: string) => process.stderr.write(`[aggregator-heap] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SERIES = Number(process.env.BENCH_HEAP_SERIES ?? 100_000);
const FLUSHES = Number(process.env.BENCH_HEAP_FLUSHES ?? 12);
const ROUNDS = Number(process.env.BENCH_HEAP_ROUNDS ?? 2);
const INTERVAL = process.env.BENCH_HEAP_INTERVAL ?? '4s';
const WARM_FLUSHES = 3;
const PARTITIONS = 4;
const OFF = 'env:PROM_RELAY_AGGREGATION__HEAP_GROWING_PERCENT';
const VARIANTS = (process.env.BENCH_HEAP_VARIANTS ?? `${OFF}=0;default;${OFF}=100;old=1536,${OFF}=0;old=1536`)
  .split(';')
  .map((s) => s.trim())
  .filter(Boolean);

interface Setting {
  name: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

function setting(spec: string, dir: string): Setting {
  const nodeArgs: string[] = [];
  const env: Record<string, string> = {};
  const policy: { heapGrowingPercent?: number; semiSpaceMiB?: number } = {};
  for (const token of spec.split(',').map((t) => t.trim())) {
    if (token === 'default') continue;
    const [key, value] = token.split(/=(.*)/s) as [string, string];
    if (key === 'old') nodeArgs.push(`--max-old-space-size=${value}`);
    else if (key === 'gp') policy.heapGrowingPercent = Number(value);
    else if (key === 'semi') policy.semiSpaceMiB = Number(value);
    else if (key.startsWith('env:')) env[key.slice(4)] = value;
    else throw new Error(`unknown setting ${token}`);
  }
  if (Object.keys(policy).length > 0) {
    const file = join(dir, `preload-${randomUUID().slice(0, 8)}.mjs`);
    const shared = join(REPO, 'apps/relay/src/heap/small-heap.ts');
    const module = pathToFileURL(existsSync(shared) ? shared : join(REPO, 'apps/relay/src/ingest/small-heap.ts')).href;
    writeFileSync(file, `import { keepHeapSmall } from ${JSON.stringify(module)};\nkeepHeapSmall(${JSON.stringify(policy)});\n`);
    nodeArgs.push('--import', pathToFileURL(file).href);
  }
  return { name: spec, nodeArgs, env };
}

/** A Remote Write receiver that answers 204 and keeps nothing: its CPU is not the relay's. */
async function startDiscardingReceiver(): Promise<{ url: string; requests: () => number; close: () => void }> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      requests++;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`, requests: () => requests, close: () => server.close() };
}

/** `count` series of one counter, 100 per message, each message from its own producer (bench/relay.ts's flush part). */
function seriesMessages(count: number, tag: string) {
  const out = [];
  for (let m = 0; m < count / 100; m++) {
    const lines = ['# TYPE bench_series_total counter'];
    for (let i = 0; i < 100; i++) lines.push(`bench_series_total{shard="${tag}${m}",idx="${i}"} ${i + 1}`);
    out.push(buildMessage({ contentType: CONTENT_TYPE.text, job: `mem-${m % 100}`, grouping: { instance: `i-${m}` }, producerId: randomUUID(), sequence: 0 }, Buffer.from(`${lines.join('\n')}\n`)));
  }
  return out;
}

async function produceAll(kafka: KafkaServer, topic: string, messages: ReturnType<typeof seriesMessages>): Promise<void> {
  const client = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += 150) {
    inflight.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + 150) }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

async function scrape(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(1000 * attempt);
    }
  }
}

/** Sum of a metric's samples whose label text contains every `match` (e.g. `kind="major"`). */
function sumOf(text: string, name: string, ...match: string[]): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    if (match.every((x) => (m[1] ?? '').includes(x))) n += Number(m[2]);
  }
  return n;
}

const flushes = (t: string) => sumOf(t, 'prom_relay_flush_duration_seconds_count', 'result="success"');

interface Figures {
  series: number;
  rssMean: number;
  rssPeak: number;
  cpuPerFlush: number;
  majorPerFlush: number;
  majorMsPerFlush: number;
  incrementalPerFlush: number;
  heapMin: number;
  heapMax: number;
  load: number;
}

async function runOne(kafka: KafkaServer, admin: kafkajs.Admin, receiverUrl: string, s: Setting, dir: string): Promise<Figures> {
  const topic = `heap-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const file = join(dir, `${topic}.yaml`);
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafka.brokers, topics: [topic], group_id: topic, checkpoint_topic: `ckpt-${topic}`, dlq_topic: `dlq-${topic}` },
      remote_write: { url: receiverUrl, max_samples_per_request: 10_000, concurrency: 4 },
      aggregation: { max_series_per_job: 1_000_000 },
      repartition: { topic: `${topic}.partials` },
      flush: { interval: INTERVAL },
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    }),
  );
  const child: ChildProcess = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', ...s.nodeArgs, join(REPO, 'apps/relay/src/cli.ts'), 'run', '--config', file], {
    cwd: REPO,
    env: { ...process.env, ...s.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 180_000;
    let url: string | undefined;
    while (!url) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`relay did not start: ${out.slice(-500)}`);
      url = /"url":"([^"]+)"[^\n]*"msg":"relay started"/.exec(out)?.[1] ?? /"msg":"relay started"[^\n]*"url":"([^"]+)"/.exec(out)?.[1];
      await sleep(50);
    }
    await sleep(2000);
    const base = rssBytes(child.pid!);
    const messages = seriesMessages(SERIES, topic);
    await produceAll(kafka, topic, messages);
    for (;;) {
      const consumed = sumOf(await scrape(url), 'prom_relay_messages_consumed_total', `topic="${topic}"`);
      if (consumed >= messages.length) break;
      if (Date.now() > deadline + 300_000) throw new Error(`consumed ${consumed} of ${messages.length}`);
      await sleep(500);
    }
    // Warm-up: the first flushes write every series (with the repartition stage the owners' flush after the sources').
    const startFlushes = flushes(await scrape(url));
    let m0 = await scrape(url);
    while (flushes(m0) < startFlushes + WARM_FLUSHES) {
      await sleep(250);
      m0 = await scrape(url);
    }
    const cpu0 = cpuSeconds(child.pid!);
    const rss: number[] = [];
    const heap: number[] = [];
    const sampler = setInterval(() => rss.push(rssBytes(child.pid!)), 100);
    let m1 = m0;
    while (flushes(m1) < flushes(m0) + FLUSHES) {
      await sleep(500);
      m1 = await scrape(url);
      heap.push(sumOf(m1, 'prom_relay_nodejs_heap_size_used_bytes'));
    }
    const cpu1 = cpuSeconds(child.pid!);
    clearInterval(sampler);
    const n = flushes(m1) - flushes(m0);
    const series = sumOf(m1, 'prom_relay_active_series', `topic="${topic}"`);
    const major = (t: string) => sumOf(t, 'prom_relay_nodejs_gc_duration_seconds_count', 'kind="major"');
    const majorSec = (t: string) => sumOf(t, 'prom_relay_nodejs_gc_duration_seconds_sum', 'kind="major"');
    const mean = rss.reduce((a, b) => a + b, 0) / rss.length;
    return {
      series,
      rssMean: (mean - base) / series,
      rssPeak: (Math.max(...rss) - base) / series,
      cpuPerFlush: (cpu1 - cpu0) / n,
      majorPerFlush: (major(m1) - major(m0)) / n,
      majorMsPerFlush: ((majorSec(m1) - majorSec(m0)) * 1000) / n,
      incrementalPerFlush: (sumOf(m1, 'prom_relay_nodejs_gc_duration_seconds_count', 'kind="incremental"') - sumOf(m0, 'prom_relay_nodejs_gc_duration_seconds_count', 'kind="incremental"')) / n,
      heapMin: Math.min(...heap) / series,
      heapMax: Math.max(...heap) / series,
      load: loadavg()[0]!,
    };
  } finally {
    child.kill('SIGKILL');
    await admin.deleteTopics({ topics: [topic, `ckpt-${topic}`, `dlq-${topic}`, `${topic}.partials`] }).catch(() => undefined);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
const B = (x: number) => `${Math.round(x).toLocaleString('en-US')}`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'aggregator-heap-'));
  const settings = VARIANTS.map((v) => setting(v, dir));
  const kafka = await startKafka();
  const receiver = await startDiscardingReceiver();
  const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const results = new Map<string, Figures[]>(settings.map((s) => [s.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...settings.slice(round % settings.length), ...settings.slice(0, round % settings.length)];
      for (const s of round % 2 === 0 ? order : order.reverse()) {
        const f = await runOne(kafka, admin, receiver.url, s, dir);
        results.get(s.name)!.push(f);
        log(
          `#${round + 1} ${s.name}: RSS/series mean ${B(f.rssMean)} peak ${B(f.rssPeak)} B, CPU ${f.cpuPerFlush.toFixed(3)} s/flush, ` +
            `major GC ${f.majorPerFlush.toFixed(2)}/flush ${f.majorMsPerFlush.toFixed(0)} ms, incremental marking steps ${f.incrementalPerFlush.toFixed(1)}/flush, heap used ${B(f.heapMin)}–${B(f.heapMax)} B/series, ` +
            `${f.series} series, load ${f.load.toFixed(1)}`,
        );
      }
    }
  } finally {
    await admin.disconnect();
    receiver.close();
    await kafka.stop();
  }
  const base = median(results.get(settings[0]!.name)!.map((f) => f.cpuPerFlush));
  const cell = (xs: number[], f: (x: number) => string) => `${f(median(xs))} (${xs.map(f).join(', ')})`;
  const lines = [
    `| setting | RSS per series, mean | peak | relay CPU-s per flush cycle | vs the first | major GCs per flush | their ms per flush | incremental marking steps per flush | V8 heap used per series, least–most | load |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...settings.map((s) => {
      const xs = results.get(s.name)!;
      const g = (k: keyof Figures) => xs.map((f) => f[k]);
      return (
        `| ${s.name} | ${cell(g('rssMean'), B)} B | ${cell(g('rssPeak'), B)} B | ${cell(g('cpuPerFlush'), (x) => x.toFixed(3))} | ` +
        `${(median(g('cpuPerFlush')) / base).toFixed(2)}× | ${cell(g('majorPerFlush'), (x) => x.toFixed(2))} | ${cell(g('majorMsPerFlush'), (x) => x.toFixed(0))} | ${cell(g('incrementalPerFlush'), (x) => x.toFixed(1))} | ` +
        `${B(median(g('heapMin')))}–${B(median(g('heapMax')))} B | ${g('load').map((x) => x.toFixed(1)).join(', ')} |`
      );
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n\nRelay: ${CHECKOUT.label}.\n`);
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
