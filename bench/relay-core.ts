// Relay core benchmark: decode + aggregate throughput, collect time and memory per active output series.
// Run: node --conditions=@prom-relay/source --import tsx --expose-gc bench/relay-core.ts
import { parseExposition } from '@prom-relay/codec';
import { Counter, Registry } from 'prom-client';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PartitionAggregate } from '../apps/relay/src/aggregate/index.js';
import type { AggregateOptions } from '../apps/relay/src/aggregate/index.js';
import { encodeCheckpoint } from '../apps/relay/src/checkpoint/encoding.js';
import { decodeRecord } from '../apps/relay/src/decode/index.js';
import { SeriesCombiner, decodePartials, encodePartials, toPartial } from '../apps/relay/src/repartition/index.js';
import type { KafkaRecord } from '../apps/relay/src/decode/index.js';
import { records, seriesPush } from './lib/core-workload.js';
import { asRelay, childEnv, deployedMalloc, gc, memory, memoryAsync } from './lib/process-memory.js';

const log = (msg: string) => process.stderr.write(`[relay-core] ${msg}\n`);

const OPTIONS: AggregateOptions = {
  rules: [],
  seriesTtlMs: 3_600_000,
  producerTtlMs: 3_600_000,
  limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 },
};
function countSamples(text: string): number {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
}

function best(runs: number, fn: () => number): number {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, fn());
  return top;
}

/** CPU time of this process (user + system, all its threads: GC helpers too), in seconds. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Samples per CPU-second of decode + apply: CPU-bound work on a shared machine, so CPU time, not wall time. */
function ingestRate(recs: KafkaRecord[], samples: number): number {
  gc();
  const agg = new PartitionAggregate(OPTIONS);
  const start = cpuSeconds();
  let now = Date.now();
  for (const rec of recs) agg.apply(decodeRecord(rec, {}), now++);
  return samples / (cpuSeconds() - start);
}

/** Samples per CPU-second of the codec's generic parser on the same bodies. */
function codecParseRate(recs: KafkaRecord[], samples: number): number {
  gc();
  const start = cpuSeconds();
  let families = 0;
  for (const rec of recs) families += parseExposition(rec.value!.toString('utf8')).length;
  const seconds = cpuSeconds() - start;
  if (families === 0) throw new Error('nothing parsed');
  return samples / seconds;
}

/** An aggregate with `n` active output series fed through the real decode path, 100 per message, one producer each. */
function buildAggregate(n: number, options: AggregateOptions = OPTIONS, now = Date.now()): PartitionAggregate {
  const agg = new PartitionAggregate(options);
  feedSeries(agg, n, now);
  if (agg.seriesCount !== n) throw new Error(`expected ${n} series, got ${agg.seriesCount}`);
  return agg;
}

/**
 * Pushes of `n` series, `per` per message, one producer per message; `run` > 0: a later run of the same jobs (new
 * producers).
 */
function feedSeries(agg: PartitionAggregate, n: number, now: number, run = 0, per = 100): void {
  for (let i = 0; i < n / per; i++) agg.apply(decodeRecord(seriesPush(i, run * n + i, run, per), {}), now);
}

/** CPU ms of `fn`, the best of `runs`. */
function timeMs(fn: () => unknown, runs = 3): number {
  let bestMs = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = cpuSeconds();
    fn();
    bestMs = Math.min(bestMs, (cpuSeconds() - start) * 1000);
  }
  return bestMs;
}

/** Output series `i` of `buildAggregate` as the relay's `collect()` returns it (less `__name__`): the body's three labels
 *  and the job header. The grouping header's `instance` is a producer label, left out of output series (checked by
 *  `checkPeerSeries`). */
function peerLabels(i: number): Record<string, string> {
  const message = Math.floor(i / 100);
  return { shard: `shard-${message}`, partition_key: `key-${i % 100}`, status: 'ok', job: `ingest-job-${message % 50}` };
}

function promClientSeries(n: number): Registry {
  const registry = new Registry();
  const counter = new Counter({ name: 'bytes_processed_total', help: 'h', labelNames: ['shard', 'partition_key', 'status', 'job'], registers: [registry] });
  for (let i = 0; i < n; i++) counter.inc(peerLabels(i), i);
  return registry;
}

/** The peer holds the relay's output series: the same names, label names and values, for the first `n` series. */
async function checkPeerSeries(n: number): Promise<void> {
  const keyOf = (labels: Record<string, string | number>) =>
    JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, String(v)]));
  const relay = buildAggregate(n).collect(Date.now()).map((s) => keyOf(s.labels));
  const [family] = await promClientSeries(n).getMetricsAsJSON();
  const peer = family!.values.map((v) => keyOf({ __name__: family!.name, ...v.labels }));
  const missing = relay.filter((k) => !peer.includes(k));
  if (relay.length !== n || peer.length !== n || missing.length > 0) {
    throw new Error(`the peer's series differ from the relay's (${relay.length} vs ${peer.length}), e.g. ${missing[0] ?? peer[0]}`);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** Heap / RSS growth per series; a median child (`medianChild`) lists every child's RSS beside it. */
const perSeries = (m: { heap: number; rss: number; rssRuns?: number[] }, n: number) =>
  `${fmt(m.heap / n)} B / ${fmt(m.rss / n)} B${m.rssRuns ? ` (median of ${m.rssRuns.length} children's RSS: ${m.rssRuns.map((r) => fmt(r / n)).join(', ')} B)` : ''}`;

interface MemoryFigures {
  heap: number;
  rss: number;
  collectMs: number;
  stateBytes: number;
  /** kept: totals still there 2 h after their last feed, producers left then, series left after counter_ttl */
  kept?: { series: number; producers: number; left: number };
  checkpoint?: CheckpointFigures;
  /** a median child: the RSS growth of every child it is the median of, in run order */
  rssRuns?: number[];
}

/**
 * The child of the median RSS growth, with every child's beside it. The RSS rows at 100k move by about +-60 B a series
 * from one child to the next (the young generation's and malloc's pages given back or not yet): one child decides
 * nothing against a peer 5-10 % away.
 */
function medianChild(runs: MemoryFigures[]): MemoryFigures {
  const sorted = [...runs].sort((a, b) => a.rss - b.rss);
  return { ...sorted[Math.floor(sorted.length / 2)]!, rssRuns: runs.map((r) => r.rss) };
}

/** One source partition's checkpoint as the flush takes it, each after two full GCs: medians of rounds 6-15 (the first
 *  five warm the code up), CPU ms of the process and MB allocated. */
interface CheckpointFigures {
  toState: { ms: number; mb: number };
  stringify: { ms: number; mb: number };
  /** `encodeCheckpoint`: JSON.stringify and gzip (level 1, on the libuv pool: counted in the process CPU) */
  encode: { ms: number };
  jsonBytes: number;
  gzipBytes: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

/** Run with a young generation large enough that no scavenge hides what a step allocates (heap growth = allocation). */
async function checkpointFigures(agg: PartitionAggregate): Promise<CheckpointFigures> {
  const runs: Array<{ state: number; stateMb: number; json: number; jsonMb: number; encode: number; jsonBytes: number; gzipBytes: number }> = [];
  for (let r = 0; r < 15; r++) {
    gc();
    gc();
    let heap = process.memoryUsage().heapUsed;
    let cpu = cpuMs();
    const state = agg.toState();
    const run = { state: cpuMs() - cpu, stateMb: (process.memoryUsage().heapUsed - heap) / 1e6, json: 0, jsonMb: 0, encode: 0, jsonBytes: 0, gzipBytes: 0 };
    heap = process.memoryUsage().heapUsed;
    cpu = cpuMs();
    const json = JSON.stringify(state);
    run.json = cpuMs() - cpu;
    run.jsonMb = (process.memoryUsage().heapUsed - heap) / 1e6;
    run.jsonBytes = Buffer.byteLength(json);
    gc();
    cpu = cpuMs();
    const gz = await encodeCheckpoint({ version: 1, topic: 't', partition: 0, offset: '1', lastFlushTimestamp: Date.now(), state });
    run.encode = cpuMs() - cpu;
    run.gzipBytes = gz.length;
    if (r >= 5) runs.push(run);
  }
  return {
    toState: { ms: median(runs.map((r) => r.state)), mb: median(runs.map((r) => r.stateMb)) },
    stringify: { ms: median(runs.map((r) => r.json)), mb: median(runs.map((r) => r.jsonMb)) },
    encode: { ms: median(runs.map((r) => r.encode)) },
    jsonBytes: runs[0]!.jsonBytes,
    gzipBytes: runs[0]!.gzipBytes,
  };
}

/** The partials of one source partition as the wire carries them, 5,000 series a message. */
async function partialsMessages(agg: PartitionAggregate, now = Date.now(), offset = 1): Promise<Buffer[]> {
  const samples = agg.collect(now);
  const messages: Buffer[] = [];
  for (let i = 0; i < samples.length; i += 5_000) {
    const series = samples.slice(i, i + 5_000).map((x) => toPartial(x, x.key!));
    messages.push(await encodePartials({ source: 'metrics/0', offset, series }));
  }
  return messages;
}

/** The owner state of those partials; `shared`: in the relay that holds `agg` (key strings and labels shared with it). */
function ownerState(agg: PartitionAggregate, messages: Buffer[], shared: boolean, now = Date.now()): SeriesCombiner {
  const c = new SeriesCombiner({ ttlMs: 3_600_000, ...(shared ? { shared: (id: string) => agg.outputSeries(id) } : {}) });
  for (const message of messages) c.apply(decodePartials(message), now);
  return c;
}

const HOUR = 3_600_000;
/** Runs of a job every 5 minutes whose producers are all live at once (kept 1 h): the cron rows. */
const CRON_RUNS = 12;
/** The relay's default lifetimes: gauges 5 m, totals 26 h, producers 1 h. */
const LIFETIMES: AggregateOptions = { ...OPTIONS, seriesTtlMs: 300_000, counterTtlMs: 26 * HOUR, producerTtlMs: HOUR };

/**
 * Runs in a fresh process (`--child <what> <n> [<rest s>]`) so RSS growth is not blurred by earlier phases; `restS`
 * seconds with the event loop free before the reading (memoryAsync).
 */
async function child(what: string, n: number, restS = 0): Promise<MemoryFigures> {
  if (what.startsWith('relay-owner')) asRelay();
  if (what === 'kept') {
    // Totals of jobs that ran once and went quiet: 2 h later their producers and input series have expired, the
    // totals are kept (and collected each flush) until counter_ttl.
    const t0 = Date.now();
    const m = memory(() => {
      const agg = buildAggregate(n, LIFETIMES, t0);
      agg.collect(t0 + 2 * HOUR);
      return agg;
    });
    const collectMs = timeMs(() => m.value.collect(t0 + 2 * HOUR + 1), 3);
    const kept = { series: m.value.seriesCount, producers: m.value.producerCount, left: 0 };
    m.value.collect(t0 + 27 * HOUR);
    kept.left = m.value.seriesCount;
    return { heap: m.heap, rss: m.rss, collectMs, stateBytes: 0, kept };
  }
  if (what === 'relay-owner-kept') {
    // One relay (aggregate + owner) holding totals of jobs that ran once and went quiet: 2 h later their producers
    // and input series have expired, the totals are kept (see 'kept'), and the owner holds what their partials said.
    const t0 = Date.now();
    const m = await memoryAsync(async () => {
      const agg = buildAggregate(n, LIFETIMES, t0);
      const owner = ownerState(agg, await partialsMessages(agg, t0 + 2 * HOUR), true, t0 + 2 * HOUR);
      return { agg, owner };
    }, restS);
    if (m.value.agg.seriesCount !== n || m.value.owner.seriesCount !== n || m.value.agg.producerCount !== 0) throw new Error(`relay-owner-kept holds ${m.value.agg.seriesCount} / ${m.value.owner.seriesCount} series, ${m.value.agg.producerCount} producers`);
    return { heap: m.heap, rss: m.rss, collectMs: 0, stateBytes: 0 };
  }
  if (what === 'relay-owner-cron' || what === 'relay-owner-cron-small') {
    // One relay holding the series of jobs that run every 5 minutes, each run a new producer: 55 minutes in, the 12
    // runs' producers are all live (producers are kept 1 h), each with a counter baseline per series it pushed.
    // 'small': jobs of 10 series (a producer's own state counts more per series).
    const per = what === 'relay-owner-cron' ? 100 : 10;
    const t0 = Date.now();
    const at = t0 + 55 * 60_000 + 1;
    const m = await memoryAsync(async () => {
      const agg = new PartitionAggregate(LIFETIMES);
      for (let run = 0; run < CRON_RUNS; run++) {
        feedSeries(agg, n, t0 + run * 5 * 60_000, run, per);
        agg.collect(t0 + run * 5 * 60_000 + 1);
      }
      const owner = ownerState(agg, await partialsMessages(agg, at), true, at);
      return { agg, owner };
    });
    const { agg, owner } = m.value;
    if (agg.seriesCount !== n || owner.seriesCount !== n || agg.producerCount !== (CRON_RUNS * n) / per) throw new Error(`${what} holds ${agg.seriesCount} / ${owner.seriesCount} series, ${agg.producerCount} producers`);
    return { heap: m.heap, rss: m.rss, collectMs: 0, stateBytes: 0 };
  }
  if (what === 'relay-owner' || what === 'relay-owner-aged') {
    // One relay holding the series: the aggregate and the owner state of the same series in one process, measured from
    // before the aggregate to after both are built (the partials messages dropped). 'aged': as a relay that has run
    // 30 days on a topic whose offsets are past 2^31 (times relative to the process start no longer small integers).
    const aged = what === 'relay-owner-aged';
    const now = aged ? Date.now() + 30 * 24 * HOUR : Date.now();
    const m = await memoryAsync(async () => {
      const agg = buildAggregate(n, OPTIONS, now);
      const owner = ownerState(agg, await partialsMessages(agg, now, aged ? 2 ** 33 + 1 : 1), true, now);
      return { agg, owner };
    }, restS);
    if (m.value.agg.seriesCount !== n || m.value.owner.seriesCount !== n) throw new Error(`relay-owner holds ${m.value.agg.seriesCount} / ${m.value.owner.seriesCount} series, expected ${n}`);
    return { heap: m.heap, rss: m.rss, collectMs: 0, stateBytes: 0 };
  }
  if (what === 'owner' || what === 'owner-apart') {
    // The owner's side of the same series: the partials of one source partition, through the wire format (fresh
    // strings, as from Kafka), combined by a SeriesCombiner. 'owner': in the relay that holds the source aggregate
    // (key strings and labels shared with it, as pipeline.ts wires it); 'owner-apart': on another relay.
    const agg = buildAggregate(n);
    const messages = await partialsMessages(agg);
    const m = memory(() => ownerState(agg, messages, what === 'owner'));
    if (m.value.seriesCount !== n) throw new Error(`owner holds ${m.value.seriesCount} series, expected ${n}`);
    return { heap: m.heap, rss: m.rss, collectMs: timeMs(() => m.value.collect(Date.now()), 3), stateBytes: 0 };
  }
  if (what === 'checkpoint') {
    const agg = buildAggregate(n);
    agg.collect(Date.now());
    return { heap: 0, rss: 0, collectMs: 0, stateBytes: 0, checkpoint: await checkpointFigures(agg) };
  }
  if (what === 'relay') {
    const m = memory(() => buildAggregate(n));
    const collectMs = timeMs(() => m.value.collect(Date.now()), 3);
    const stateBytes = n <= 100_000 ? Buffer.byteLength(JSON.stringify(m.value.toState())) : 0;
    return { heap: m.heap, rss: m.rss, collectMs, stateBytes };
  }
  const m = await memoryAsync(async () => promClientSeries(n), restS);
  const start = cpuSeconds();
  await m.value.metrics();
  return { heap: m.heap, rss: m.rss, collectMs: (cpuSeconds() - start) * 1000, stateBytes: 0 };
}

/** Seconds the "at rest" children leave their event loop free before each reading: V8's memory reducer had run by 30 s in both trials here (2026-12-03). */
const REST_S = 40;

type ChildOptions = { flags?: string[]; restS?: number; mallocDefaults?: boolean };
const childArgs = (what: string, n: number, opts: ChildOptions) => [...process.execArgv, ...(opts.flags ?? []), fileURLToPath(import.meta.url), '--child', what, String(n), String(opts.restS ?? 0)];

/** As inChild, without blocking: children that mostly wait (at rest) run side by side. */
function inChildAsync(what: string, n: number, opts: ChildOptions = {}): Promise<MemoryFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgs(what, n, opts), { env: childEnv(opts.mallocDefaults), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(JSON.parse(out) as MemoryFigures) : reject(new Error(`child ${what} ${n} failed: ${code ?? signal}`))));
  });
}

/** Children per 100k one-relay / prom-client RSS row (medianChild), the relay's and the peer's alternating. */
const RUNS_100K = 3;

function inChild(what: string, n: number, opts: ChildOptions = {}): MemoryFigures {
  const args = childArgs(what, n, opts);
  const run = spawnSync(process.execPath, args, {
    env: childEnv(opts.mallocDefaults),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) throw new Error(`child ${what} ${n} failed: ${run.status ?? run.signal}`);
  return JSON.parse(run.stdout) as MemoryFigures;
}

async function main() {
  log('generating messages');
  const shortLived = records(2000, 3);
  const steady = records(100, 60);
  const perMessage = countSamples(shortLived[0]!.value!.toString());
  if (perMessage !== 100) throw new Error(`expected 100 samples a message, got ${perMessage}`);
  const shortSamples = shortLived.length * perMessage;
  const steadySamples = steady.length * perMessage;

  log('decode + apply');
  const ingestShort = best(3, () => ingestRate(shortLived, shortSamples));
  const ingestSteady = best(3, () => ingestRate(steady, steadySamples));
  log('codec parseExposition');
  const parseShort = best(3, () => codecParseRate(shortLived, shortSamples));
  const parseSteady = best(3, () => codecParseRate(steady, steadySamples));

  log('the peer holds the relay\'s output series');
  await checkPeerSeries(300);
  log('100k series (child processes)');
  const r100k = inChild('relay', 100_000);
  log('owner state of 100k series (child processes)');
  const owner100k = inChild('owner', 100_000);
  const apart100k = inChild('owner-apart', 100_000);
  const totalRuns: MemoryFigures[] = [];
  const pcRuns: MemoryFigures[] = [];
  for (let i = 0; i < RUNS_100K; i++) {
    totalRuns.push(inChild('relay-owner', 100_000));
    pcRuns.push(inChild('prom-client', 100_000));
  }
  const total100k = medianChild(totalRuns);
  const pc100k = medianChild(pcRuns);
  const pc100kOne = { heap: pc100k.heap, rss: pc100k.rss }; // the same figures, the children listed once
  const keptOne100k = inChild('relay-owner-kept', 100_000);
  const cron100k = inChild('relay-owner-cron', 100_000);
  const cronSmall100k = inChild('relay-owner-cron-small', 100_000);
  log('checkpoint of 100k series (child process)');
  const cp = inChild('checkpoint', 100_000, { flags: ['--max-semi-space-size=1024'] }).checkpoint!;
  log('1M series (child process)');
  const r1m = inChild('relay', 1_000_000);
  const pc1m = inChild('prom-client', 1_000_000);
  const total1m = inChild('relay-owner', 1_000_000);
  const keptOne1m = inChild('relay-owner-kept', 1_000_000);
  log(`at rest: ${REST_S} s with the event loop free before the reading (child processes)`);
  // The relay's child and the peer's side by side (each mostly waits), RUNS_100K times.
  const restRuns: MemoryFigures[][] = [];
  for (let i = 0; i < RUNS_100K; i++) restRuns.push(await Promise.all([inChildAsync('relay-owner', 100_000, { restS: REST_S }), inChildAsync('prom-client', 100_000, { restS: REST_S })]));
  const rest100k = medianChild(restRuns.map((r) => r[0]!));
  const pcRest100k = medianChild(restRuns.map((r) => r[1]!));
  const rest1m = inChild('relay-owner', 1_000_000, { restS: REST_S });
  const keptRest1m = inChild('relay-owner-kept', 1_000_000, { restS: REST_S });
  const pcRest1m = inChild('prom-client', 1_000_000, { restS: REST_S });
  log("glibc's malloc defaults (child processes)");
  const defaults100k = inChild('relay-owner', 100_000, { mallocDefaults: true });
  const pcDefaults100k = inChild('prom-client', 100_000, { mallocDefaults: true });
  log('1M kept totals (child process)');
  const k1m = inChild('kept', 1_000_000);
  if (k1m.kept!.series !== 1_000_000 || k1m.kept!.producers !== 0 || k1m.kept!.left !== 0) throw new Error(`kept totals: ${JSON.stringify(k1m.kept)}`);

  const out = [
    '## Relay core: decode + aggregate, collect, memory',
    '',
    'One process, `apps/relay` decode and aggregate only (no Kafka, no flush): `decodeRecord` + `PartitionAggregate.apply` on',
    'text exposition messages of 100 samples as prom-client writes them (45 cumulative counters, 5 histograms of 11 buckets',
    'with `_sum`), each message a producer push with job, instance grouping, producer id and seq headers. "Short-lived":',
    `${fmt(2000)} producers (own id and instance) × 3 pushes; "steady": 100 producers × 60 pushes. Samples per CPU-second`,
    'of the process (user + system, GC threads included; the relay and the peer one after the other in it), best of 3 runs.',
    "Decode peer: the codec's generic `parseExposition` on the same bodies, parsing only (no aggregation).",
    'Collect/memory, each in a fresh process: output series fed through the same decode path (one producer per 100 series,',
    '3 labels + job; the grouping header\'s `instance` is a producer label, not part of an output series); heap (with the',
    'array buffers the process holds: the owner keeps its series in typed columns) and RSS growth after two full GCs, RSS read once it',
    'has settled (V8 gives emptied pages back on a background thread), divided by the series count. The owner rows: the same series as the partials of one source partition',
    "(through the wire format) in a `SeriesCombiner`. A relay holds both the aggregate and the owner state of its series:",
    'the "one relay" rows build both in one process and measure them together. Peer: prom-client holding the same series',
    "(a Counter of the same name, label names and values, checked against the relay's `collect()` each run) in a",
    'Registry, rendered with `registry.metrics()`.',
    `Every memory child runs as deployed: under the malloc setting of the deploy files (\`${Object.entries(deployedMalloc()).map(([k, v]) => `${k}=${v}`).join(' ')}\`, deploy/container/Containerfile`,
    "and deploy/systemd), the peer's too; the one-relay children also under the heap policies `prom-relay run` sets (heap/small-heap.ts,",
    'heap/compaction.ts), read after a full GC and a second for them to act. "At rest": the event loop left free for',
    `${REST_S} s before each reading (the baseline's too), as a relay between flushes (V8's memory reducer runs only then), the peer likewise.`,
    `The one-relay and prom-client rows at 100k (right after the build and at rest) are the median of ${RUNS_100K} children each, the relay's and the peer's`,
    'alternating (at rest: side by side), every child\'s RSS listed: one child\'s reading moves by about ±60 B a series.',
    '',
    '| measure | prom-relay | peer (same run) |',
    '| --- | --- | --- |',
    `| ingest, short-lived producers (samples per CPU-second) | ${fmt(ingestShort)} (decode + apply) | ${fmt(parseShort)} (codec \`parseExposition\` alone) |`,
    `| ingest, steady producers (samples per CPU-second) | ${fmt(ingestSteady)} (decode + apply) | ${fmt(parseSteady)} (codec \`parseExposition\` alone) |`,
    `| output all of 100k series (CPU) | ${r100k.collectMs.toFixed(1)} ms (\`collect()\`) | ${pc100k.collectMs.toFixed(1)} ms (prom-client \`registry.metrics()\`) |`,
    `| output all of 1M series (CPU) | ${r1m.collectMs.toFixed(1)} ms (\`collect()\`) | ${pc1m.collectMs.toFixed(1)} ms (prom-client \`registry.metrics()\`) |`,
    `| heap per active series at 100k | ${fmt(r100k.heap / 100_000)} B | ${fmt(pc100k.heap / 100_000)} B (prom-client) |`,
    `| RSS growth per active series at 100k | ${fmt(r100k.rss / 100_000)} B | ${fmt(pc100k.rss / 100_000)} B (prom-client) |`,
    `| owner state (repartition stage) per series at 100k, in the relay that holds the source: heap / RSS growth | ${fmt(owner100k.heap / 100_000)} B / ${fmt(owner100k.rss / 100_000)} B | — |`,
    `| the same on another relay (nothing to share) | ${fmt(apart100k.heap / 100_000)} B / ${fmt(apart100k.rss / 100_000)} B | — |`,
    `| owner \`collect()\` of 100k series (CPU) | ${owner100k.collectMs.toFixed(1)} ms | — |`,
    `| one relay holding 100k series (aggregate + owner state, one process): heap / RSS growth per series | ${perSeries(total100k, 100_000)} (the aggregate and owner rows summed: ${fmt((r100k.heap + owner100k.heap) / 100_000)} B / ${fmt((r100k.rss + owner100k.rss) / 100_000)} B) | ${perSeries(pc100k, 100_000)} (prom-client) |`,
    `| one relay holding 100k totals 2 h after their producers pushed (producers and inputs expired, default lifetimes; aggregate + owner): heap / RSS growth per series | ${perSeries(keptOne100k, 100_000)} | ${perSeries(pc100kOne, 100_000)} (prom-client) |`,
    `| one relay holding 100k series of jobs run every 5 minutes, 55 minutes in (the ${CRON_RUNS} runs' producers live, default lifetimes; aggregate + owner): heap / RSS growth per series | ${perSeries(cron100k, 100_000)} | ${perSeries(pc100kOne, 100_000)} (prom-client) |`,
    `| the same, jobs of 10 series (a producer per 10 series a run) | ${perSeries(cronSmall100k, 100_000)} | ${perSeries(pc100kOne, 100_000)} (prom-client) |`,
    `| heap per active series at 1M | ${fmt(r1m.heap / 1_000_000)} B | ${fmt(pc1m.heap / 1_000_000)} B (prom-client) |`,
    `| RSS growth per active series at 1M | ${fmt(r1m.rss / 1_000_000)} B | ${fmt(pc1m.rss / 1_000_000)} B (prom-client) |`,
    `| one relay holding 1M series (aggregate + owner state, one process): heap / RSS growth per series | ${perSeries(total1m, 1_000_000)} | ${perSeries(pc1m, 1_000_000)} (prom-client) |`,
    `| one relay holding 1M totals 2 h after their producers pushed (as above) | ${perSeries(keptOne1m, 1_000_000)} | ${perSeries(pc1m, 1_000_000)} (prom-client) |`,
    `| at rest: one relay holding 100k series / prom-client: heap / RSS growth per series | ${perSeries(rest100k, 100_000)} | ${perSeries(pcRest100k, 100_000)} (prom-client) |`,
    `| at rest: one relay holding 1M series | ${perSeries(rest1m, 1_000_000)} | ${perSeries(pcRest1m, 1_000_000)} (prom-client) |`,
    `| at rest: one relay holding 1M totals 2 h after their producers pushed | ${perSeries(keptRest1m, 1_000_000)} | ${perSeries(pcRest1m, 1_000_000)} (prom-client) |`,
    `| one relay holding 100k series under glibc's malloc defaults (no \`MALLOC_\` setting; the peer likewise) | ${perSeries(defaults100k, 100_000)} | ${perSeries(pcDefaults100k, 100_000)} (prom-client) |`,
    `| checkpoint state (\`toState()\` as JSON) at 100k | ${fmt(r100k.stateBytes / 100_000)} B/series | — |`,
    `| checkpoint of 100k series, CPU (allocated): \`toState()\` / \`JSON.stringify\` / \`encodeCheckpoint\` (stringify + gzip) | ${cp.toState.ms.toFixed(0)} ms (${cp.toState.mb.toFixed(1)} MB) / ${cp.stringify.ms.toFixed(0)} ms (${cp.stringify.mb.toFixed(1)} MB) / ${cp.encode.ms.toFixed(0)} ms; ${(cp.jsonBytes / 1e6).toFixed(1)} MB JSON, ${(cp.gzipBytes / 1e6).toFixed(2)} MB gzip'd | — |`,
    `| 1M kept totals, 2 h after their last feed (producers and inputs expired; default lifetimes): heap / RSS growth per total | ${fmt(k1m.heap / 1_000_000)} B / ${fmt(k1m.rss / 1_000_000)} B | — |`,
    `| output all of 1M kept totals (CPU) | ${k1m.collectMs.toFixed(1)} ms (\`collect()\`); none left after \`counter_ttl\` | — |`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

const childAt = process.argv.indexOf('--child');
if (childAt !== -1) {
  process.stdout.write(JSON.stringify(await child(process.argv[childAt + 1]!, Number(process.argv[childAt + 2]), Number(process.argv[childAt + 3] ?? 0))));
} else {
  await main();
}
