// HTTP path, relay vs vmagent: 50 keep-alive clients pushing 100-sample Prometheus text bodies, Pushgateway-style
// (`/metrics/job/bench/instance/c<i>`, one group per client). prom-relay's ingest role (`prom-relay ingest`, durable:
// 200 only once Kafka acknowledged) vs vmagent's Pushgateway-path import (`/api/v1/import/prometheus/metrics/job/…`)
// with stream aggregation `total` without instance, Remote Write to a counting sink. Both interleaved, same clients,
// same bodies; CPU from /proc (the ingest's processes; the broker's apart).
// Run: node --conditions=@prom-relay/source --import tsx bench/peers-http.ts   (prints one markdown section)
// Options: BENCH_DURATION_MS (default 10000), BENCH_ROUNDS (3), BENCH_CLIENTS (50), BENCH_INGEST_WORKERS
// (1,2: one relay configuration per value, node flags and environment after `+`, e.g. 1+MALLOC_ARENA_MAX=2),
// BENCH_CPU_PROF=<dir> (V8 CPU profiles of the relay ingest processes),
// BENCH_RELAY_BASELINE=<git ref> (also that commit's ingest with 1 worker, interleaved: before/after in one run),
// BENCH_RELAY_ROOT=<folder> (the relay measured is that tree's, e.g. another worktree; default this one).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKafka, type KafkaServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { stringify } from 'yaml';
import { freePort, startChild, stopChild, waitFor, type Child } from './lib/children.js';
import { peerBinary, peerLabel } from './lib/go-peers.js';
import { httpRequest, runLoad, type LoadResult } from './lib/http-load.js';
import { cpuSeconds, findPid } from './lib/proc.js';
import { cpuBetween, treeCpu, treeRss } from './lib/proc-tree.js';
import { baselineCheckout } from './lib/baseline.js';
import { bundleRelay } from './lib/relay-bundle.js';
import { startRwSink } from './lib/rw-sink.js';

const log = (msg: string) => process.stderr.write(`[peers-http] ${msg}\n`);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = 2000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
/** Relay configurations: `<workers>` or `<workers>+<node flag or NAME=value env>...` (e.g. `1+--max-semi-space-size=8+MALLOC_ARENA_MAX=2`). */
const WORKERS = (process.env.BENCH_INGEST_WORKERS ?? '1,2').split(',').map((v) => {
  const [workers, ...flags] = v.split('+');
  return { workers: Number(workers), flags };
});
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const BASELINE = process.env.BENCH_RELAY_BASELINE;
const REPO = join(dirname(new URL(import.meta.url).pathname), '..');
const TOPIC = 'bench-peers-http';
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 2 ** 20;

/** 100 samples, as a prom-client registry renders them: 10 counter families x 10 routes; values per client. */
function body(client: number): Buffer {
  const lines: string[] = [];
  for (let f = 0; f < 10; f++) {
    lines.push(`# HELP bench_family_${f}_total Family ${f}.`, `# TYPE bench_family_${f}_total counter`);
    for (let r = 0; r < 10; r++) lines.push(`bench_family_${f}_total{route="/api/v1/route-${r}"} ${((client * 7919 + f * 104729 + r * 1299709) % 100_003) + 1}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}
const TEXT = { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' };

interface Peer {
  name: string;
  child: Child;
  url: string;
  requests: Buffer[];
  /** `node` when only node processes of the tree count for RSS */
  exe?: string;
}

interface Run {
  load: LoadResult;
  cpu: number;
  broker: number;
  rss: number;
}

async function startRelayIngest(cli: string, kafka: KafkaServer, workers: number, label = '', flags: string[] = []): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'peers-http-relay-'));
  const file = join(dir, 'relay.yaml');
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafka.brokers, topics: [TOPIC], topic_partitions: 4 },
      server: { host: '127.0.0.1', port: await freePort() },
      ingest: { workers },
      log: { level: 'info' },
    }),
  );
  const prof = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, `workers-${workers}${label ? '-baseline' : ''}${flags.length ? '-flags' : ''}`)}`] : [];
  const name = `relay ingest${label} (${workers} worker${workers > 1 ? 's' : ''}${flags.length ? `, ${flags.map((f) => (f.startsWith('-') ? `node ${f}` : f)).join(', ')}` : ''})`;
  // Node flags reach the cluster workers too (they inherit the primary's execArgv).
  // `NAME=value` items are the process's environment (e.g. MALLOC_ARENA_MAX=2), the rest node flags.
  const env = Object.fromEntries(flags.filter((f) => /^[A-Z_]+=/.test(f)).map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
  const nodeFlags = flags.filter((f) => !/^[A-Z_]+=/.test(f));
  const child = startChild(name, process.execPath, [...nodeFlags, ...prof, cli, 'ingest', '--config', file], { env: { ...process.env, ...env } });
  const url = await waitFor(child, "'relay started'", () => child.logs.find((l) => l.msg === 'relay started')?.url as string | undefined);
  await waitFor(child, 'readiness', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
  const host = new URL(url).host;
  const requests = Array.from({ length: CLIENTS }, (_, i) => httpRequest('PUT', host, `/metrics/job/bench/instance/c${i}`, TEXT, body(i)));
  return { name: child.name, child, url, requests, exe: 'node' };
}

async function startVmagent(sinkUrl: string): Promise<Peer> {
  const binary = await peerBinary('vmagent');
  const dir = mkdtempSync(join(tmpdir(), 'peers-http-vmagent-'));
  const aggr = join(dir, 'aggr.yaml');
  // `total` over all producers, instance dropped: what the relay's default aggregation does with a counter.
  // ignore_first_sample_interval 0s: by default vmagent drops the first samples of every series for one staleness
  // interval after its start (2x interval here), so a fresh vmagent would do less work than the relay on a warm-up.
  writeFileSync(aggr, stringify([{ match: '{__name__=~".+"}', interval: '10s', without: ['instance'], outputs: ['total'], ignore_first_sample_interval: '0s' }]));
  const port = await freePort();
  const child = startChild(peerLabel('vmagent'), binary, [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-remoteWrite.url=${sinkUrl}`,
    `-remoteWrite.streamAggr.config=${aggr}`,
    `-remoteWrite.tmpDataPath=${join(dir, 'queue')}`,
    '-loggerLevel=WARN',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(child, 'its /health', async () => ((await fetch(`${url}/health`)).ok ? true : undefined));
  const requests = Array.from({ length: CLIENTS }, (_, i) => httpRequest('POST', `127.0.0.1:${port}`, `/api/v1/import/prometheus/metrics/job/bench/instance/c${i}`, TEXT, body(i)));
  return { name: child.name, child, url, requests };
}

async function measure(peer: Peer, brokerPid: number | undefined): Promise<Run> {
  let cpu0 = new Map<number, number>();
  let cpu = 0;
  let broker0 = 0;
  let broker = 0;
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, treeRss(peer.child.pid, peer.exe))), 500);
  const load = await runLoad(peer.url, peer.requests, DURATION_MS, WARMUP_MS, (edge) => {
    if (edge === 'start') {
      cpu0 = treeCpu(peer.child.pid);
      broker0 = brokerPid ? cpuSeconds(brokerPid) : Number.NaN;
    } else {
      cpu = cpuBetween(cpu0, treeCpu(peer.child.pid));
      broker = brokerPid ? cpuSeconds(brokerPid) - broker0 : Number.NaN;
    }
  });
  clearInterval(sampler);
  rss = Math.max(rss, treeRss(peer.child.pid, peer.exe));
  if (peer.exe === 'node') log(`${peer.name} memory after the window: ${await heapOf(peer.url)}`);
  return { load, cpu, broker, rss };
}

/** Where a relay's memory is (its /metrics, after the window): what the RSS column is made of. */
async function heapOf(url: string): Promise<string> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const mib = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`prom_relay_${name} `) || l.startsWith(`prom_relay_${name}{`));
      return line ? `${(Number(line.split(' ').pop()) / MiB).toFixed(0)}` : '?';
    };
    return `rss ${mib('process_resident_memory_bytes')} MiB, heap used ${mib('nodejs_heap_size_used_bytes')} of ${mib('nodejs_heap_size_total_bytes')} MiB, external ${mib('nodejs_external_memory_bytes')} MiB`;
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}

async function main(): Promise<void> {
  const cli = await bundleRelay(process.env.BENCH_RELAY_ROOT ?? REPO);
  await peerBinary('vmagent');
  log('starting Kafka and the sink');
  const kafka = await startKafka({ heap: '1g', startTimeoutMs: 300_000 });
  const brokerPid = findPid('java', 'kafka.Kafka', dirname(kafka.logFile));
  const sink = await startRwSink();
  const peers: Peer[] = [];
  const runs = new Map<Peer, Run[]>();
  try {
    if (BASELINE) {
      const base = baselineCheckout(REPO, BASELINE, process.env.BENCH_BASELINE_DIR);
      peers.push(await startRelayIngest(await bundleRelay(base.root, 'bench-relay-baseline'), kafka, 1, ` @${base.label}`));
    }
    for (const w of WORKERS) peers.push(await startRelayIngest(cli, kafka, w.workers, '', w.flags));
    peers.push(await startVmagent(sink.url));
    for (const p of peers) runs.set(p, []);
    // Warm-up (JITs, the broker's too), not counted.
    for (const p of peers) {
      const r = await runLoad(p.url, p.requests, 3000, 0);
      log(`warm-up ${p.name}: ${fmt((r.ok * 1000) / r.ms)} pushes/s`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of peers) {
        const r = await measure(p, brokerPid);
        runs.get(p)!.push(r);
        log(
          `#${round + 1} ${p.name}: ${fmt((r.load.ok * 1000) / r.load.ms)} pushes/s, ${fmt(r.load.ok / r.cpu)} per CPU-s (cpu ${r.cpu.toFixed(2)} s, broker ${r.broker.toFixed(2)} s), p50 ${r.load.p50.toFixed(1)} p99 ${r.load.p99.toFixed(1)} ms, RSS ${fmt(r.rss / MiB)} MiB, failed ${r.load.failed} ${JSON.stringify(r.load.statuses)}`,
        );
      }
    }
    // Every acknowledged push is a record in the topic (plus the warm-up's).
    const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const inTopic = (await admin.fetchTopicOffsets(TOPIC)).reduce((n, o) => n + Number(o.high), 0);
    await admin.disconnect();
    const relayAcked = peers.filter((p) => p.exe === 'node').reduce((n, p) => n + runs.get(p)!.reduce((m, r) => m + r.load.ok, 0), 0);
    process.stdout.write(section(peers, runs, kafka.version, relayAcked, inTopic));
  } finally {
    await Promise.allSettled(peers.map((p) => stopChild(p.child, PROFILE_DIR ? 60_000 : 5000)));
    await sink.close();
    await kafka.stop();
  }
}

function section(peers: Peer[], runs: Map<Peer, Run[]>, kafkaVersion: string, relayAcked: number, inTopic: number): string {
  const vm = peers.find((p) => p.exe === undefined)!;
  const stat = (p: Peer, f: (r: Run) => number) => median(runs.get(p)!.map(f));
  const range = (p: Peer, f: (r: Run) => number, d = 0) => {
    const xs = runs.get(p)!.map(f);
    return `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;
  };
  const rate = (r: Run) => (r.load.ok * 1000) / r.load.ms;
  const perCpu = (r: Run) => r.load.ok / r.cpu;
  const brokerPer1k = (r: Run) => (r.broker / r.load.ok) * 1000;
  const ingestPer1k = (r: Run) => (r.cpu / r.load.ok) * 1000;
  const rows = peers.map((p) => {
    const vsVm = (f: (r: Run) => number) => (p === vm ? '' : ` (${(stat(p, f) / stat(vm, f)).toFixed(2)}×)`);
    const broker = p === vm ? 'none (no broker)' : `${fmt(stat(p, brokerPer1k), 3)} CPU-s`;
    const withBroker = p === vm ? '—' : fmt(stat(p, (r) => r.load.ok / (r.cpu + r.broker)));
    return `| ${p.name} | ${fmt(stat(p, rate))}${vsVm(rate)} (${range(p, rate)}) | **${fmt(stat(p, perCpu))}**${vsVm(perCpu)} (${range(p, perCpu)}) | ${fmt(stat(p, ingestPer1k), 3)} CPU-s | ${broker} | ${withBroker} | ${fmt(stat(p, (r) => r.load.p50), 1)} ms | ${fmt(stat(p, (r) => r.load.p99), 1)} ms (${range(p, (r) => r.load.p99, 1)}) | ${fmt(Math.max(...runs.get(p)!.map((r) => r.rss)) / MiB)} MiB |`;
  });
  const failed = peers.map((p) => `${p.name} ${runs.get(p)!.reduce((n, r) => n + r.load.failed, 0)}`).join(', ');
  const relays = peers.filter((p) => p !== vm);
  const goal = relays.map((p) => {
    const eff = stat(p, perCpu) >= stat(vm, perCpu);
    const p99 = stat(p, (r) => r.load.p99) <= 2 * stat(vm, (r) => r.load.p99);
    const rss = Math.max(...runs.get(p)!.map((r) => r.rss)) < 100 * MiB;
    const yes = (b: boolean) => (b ? 'met' : 'not met');
    return `${p.name}: pushes per CPU-second ≥ vmagent's ${yes(eff)}, p99 ≤ 2× vmagent's ${yes(p99)}, RSS < 100 MiB ${yes(rss)}`;
  });
  return `## Peers: HTTP ingest, prom-relay vs vmagent

Workload: ${CLIENTS} keep-alive clients (a worker thread writing prebuilt HTTP/1.1 requests on raw sockets, like wrk),
each pushing its own 100-sample Prometheus text body (10 counter families × 10 series with HELP and TYPE, ${fmt(body(0).length)} bytes)
to its own group \`job=bench, instance=c<i>\`, one request at a time, for ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up;
${ROUNDS} rounds, the peers interleaved, median shown with the range. CPU-seconds from /proc (utime+stime of the
server's processes during the measured window; for the relay the primary and its worker processes).
- **prom-relay ingest** (\`prom-relay ingest\`, the working tree bundled to JavaScript as deployed; \`ingest.workers\` processes,
  log level info, no node flags: the ingest role keeps its V8 heap small by itself, ingest README, Memory):
  \`PUT /metrics/job/bench/instance/c<i>\`, each body checked with the consumer's decodeRecord, produced
  to Kafka ${kafkaVersion} (4 partitions, idempotent producer, acks=all), 200 only after the ack. Its broker's CPU is
  shown apart: it is the durability the relay pays for. ${fmt(relayAcked)} pushes acknowledged in the measured windows;
  ${fmt(inTopic)} records in the topic at the end (warm-ups included).
- **${peerLabel('vmagent')}**: \`POST /api/v1/import/prometheus/metrics/job/bench/instance/c<i>\` (204), stream aggregation
  \`total\` without \`instance\` every 10 s (\`ignore_first_sample_interval: 0s\`: its default drops every series' first samples
  for a staleness interval after start), Remote Write to a counting sink; state in memory only, acknowledged before
  anything is durable.

| server | pushes/s | pushes per CPU-second of the server | server CPU per 1,000 pushes | broker CPU per 1,000 pushes | pushes per CPU-second, server + broker | p50 | p99 | peak RSS |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Failed requests: ${failed}. Issue 14 goal 1 in this run: ${goal.join('; ')}.
`;
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
