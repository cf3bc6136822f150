// What one steady flush of owned series costs the relay process (issue 14 goal 4: the garbage a flush leaves is most of
// the RSS per series after flushes): the real Flusher and RemoteWriteClient over owner partitions (SeriesCombiner) of
// FLUSH_SERIES series, against a Remote Write receiver in a child process (it decodes and counts every sample, so its
// CPU is not the relay's), checkpoints encoded as the store does (toState, JSON, gzip) but not produced (no Kafka).
// No input between flushes: the steady state of bench/relay.ts's flush part.
// Per measured flush: CPU of this process (process.cpuUsage over the flush and the pause after it), bytes allocated
// and bytes promoted to the old generation (v8.GCProfiler: the heap's growth between GCs, and the old space's growth
// in each scavenge), RSS read every 20 ms (mean and peak, per series), and the samples the receiver counted.
// Run: node --conditions=@prom-relay/source --import tsx bench/diagnosis/flush-path.ts   (prints a markdown table)
// Options: FLUSH_SERIES (100000), FLUSH_PARTITIONS (4 owner partitions), FLUSH_WARMUP (8), FLUSH_ROUNDS (20),
// FLUSH_PAUSE_MS (250, between flushes), FLUSH_CHECKPOINT (1; 0: no checkpoint, to see the send's share),
// FLUSH_MOVED (0; 1: each owner's offset moves before each flush, as if a partial had been applied, so each flush
// checkpoints every owner as under traffic), FLUSH_HEAP_PROFILE (a file: a sampling heap profile of the measured flushes, every allocation by function, garbage
// included; the top functions by bytes are printed).
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import { decodeWriteRequestSnappy } from '@prom-relay/codec';
import { RemoteWriteClient } from '@prom-relay/push-client';
import { pino } from 'pino';
import { encodeCheckpoint } from '../../apps/relay/src/checkpoint/encoding.js';
import type { CheckpointStore } from '../../apps/relay/src/checkpoint/index.js';
import { Flusher } from '../../apps/relay/src/flush/index.js';
import type { RelayConsumer } from '../../apps/relay/src/kafka/index.js';
import type { Checkpoint } from '../../apps/relay/src/model.js';
import { SeriesCombiner } from '../../apps/relay/src/repartition/index.js';
import type { PartialBatch } from '../../apps/relay/src/repartition/index.js';
import { OwnedPartition } from '../../apps/relay/src/source/index.js';

const SERIES = Number(process.env.FLUSH_SERIES ?? 100_000);
const PARTITIONS = Number(process.env.FLUSH_PARTITIONS ?? 4);
const WARMUP = Number(process.env.FLUSH_WARMUP ?? 8);
const ROUNDS = Number(process.env.FLUSH_ROUNDS ?? 20);
const PAUSE_MS = Number(process.env.FLUSH_PAUSE_MS ?? 250);
const CHECKPOINT = process.env.FLUSH_CHECKPOINT !== '0';
const HEAP_PROFILE = process.env.FLUSH_HEAP_PROFILE;
const MOVED = process.env.FLUSH_MOVED === '1';
const log = (msg: string) => process.stderr.write(`[flush-path] ${msg}\n`);

/** The receiver: decodes each request (1.0, snappy), counts samples, answers 204; GET /stats answers the counts. */
function receiver(): void {
  let requests = 0;
  let samples = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.end(JSON.stringify({ requests, samples }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const wr = decodeWriteRequestSnappy(Buffer.concat(chunks));
      requests++;
      for (const ts of wr.timeseries) samples += ts.samples.length;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

async function startReceiver(): Promise<{ url: string; stats(): Promise<{ requests: number; samples: number }>; child: ChildProcess }> {
  const child = fork(fileURLToPath(import.meta.url), ['--receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const base = `http://127.0.0.1:${port}`;
  return { url: `${base}/api/v1/write`, stats: async () => (await (await fetch(`${base}/stats`)).json()) as { requests: number; samples: number }, child };
}

/** One owner partition holding `n` counter series fed by one source partition (4 labels, as bench/relay.ts's flush part). */
function owner(p: number, n: number, now: number): OwnedPartition {
  const combiner = new SeriesCombiner({ ttlMs: 3_600_000 });
  const batch: PartialBatch = { kind: 'partials', source: 'metrics/0', offset: 1, series: [] };
  for (let i = 0; i < n; i++) {
    const id = `${p}-${i}`;
    const key = `__name__="bench_flush_rows_total",instance="host-${id}",job="bench-flush",series="s${id}",`;
    batch.series.push({ key, combine: 'total', value: i + 0.5, stale: false });
  }
  combiner.apply(batch, now);
  // The old generation's growth while the owner collects (what combiner.ts allocates there, pretenured or promoted).
  const collect = combiner.collect.bind(combiner);
  combiner.collect = (nowMs: number) => {
    const before = oldGeneration();
    const out = collect(nowMs);
    collectOld += oldGeneration() - before;
    return out;
  };
  return new OwnedPartition('prom-relay.partials', p, 'owner', combiner, { nextOffset: 2n });
}

let collectOld = 0;

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

interface Round {
  cpuMs: number;
  wallMs: number;
  allocated: number;
  promoted: number;
  direct: number;
  collectOld: number;
  oldGarbage: number;
  fullGcs: number;
  rssMean: number;
  rssPeak: number;
  gcs: number;
}

/**
 * Allocated: heap growth between GCs plus what each GC freed. Promoted: the old generation's growth in scavenges
 * (objects that survived young). Old garbage: what full GCs freed in the old generation and large-object space (what
 * had outlived the young generation and held RSS until then).
 */
function gcFigures(
  stats: ReturnType<GCProfiler['stop']>,
  usedBefore: number,
  usedAfter: number,
  oldBefore: number,
  oldAfter: number,
): { allocated: number; promoted: number; direct: number; oldGarbage: number; gcs: number; fullGcs: number } {
  let allocated = usedAfter - usedBefore;
  let promoted = 0;
  let direct = 0;
  let lastOld = oldBefore;
  let oldGarbage = 0;
  let fullGcs = 0;
  const space = (s: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }, name: string) =>
    s.heapSpaceStatistics.find((x) => x.spaceName === name)?.spaceUsedSize ?? 0;
  const old = (s: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }) => space(s, 'old_space') + space(s, 'large_object_space');
  const list = (stats?.statistics ?? []) as unknown as Array<{
    gcType: string;
    beforeGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> };
    afterGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> };
  }>;
  for (const gc of list) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    direct += old(gc.beforeGC) - lastOld;
    lastOld = old(gc.afterGC);
    if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkSweep') promoted += old(gc.afterGC) - old(gc.beforeGC);
    if (gc.gcType === 'MarkSweepCompact') {
      fullGcs++;
      oldGarbage += old(gc.beforeGC) - old(gc.afterGC);
    }
  }
  direct += oldAfter - lastOld;
  return { allocated, promoted, direct, oldGarbage, gcs: list.length, fullGcs };
}

/** Bytes used in the old generation: old space and large-object space. */
function oldGeneration(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space' || s.space_name === 'large_object_space') n += s.space_used_size;
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => (b / 1e6).toFixed(1);

async function main(): Promise<void> {
  const sink = await startReceiver();
  const logger = pino({ level: 'warn' });
  const now = Date.now();
  const per = Math.ceil(SERIES / PARTITIONS);
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => owner(p, Math.min(per, SERIES - p * per), now));
  const checkpoints = {
    // What CheckpointStore.write does before producing: one turn, then toState's JSON through gzip, per checkpoint.
    write: async (cps: Checkpoint[]) => {
      const sizes: number[] = [];
      for (const cp of cps) {
        await new Promise((r) => setImmediate(r));
        sizes.push(CHECKPOINT ? (await encodeCheckpoint(cp)).length : 0);
      }
      return sizes;
    },
    writeFlushTimes: async () => undefined,
  } as unknown as CheckpointStore;
  const client = new RemoteWriteClient({ url: sink.url, protocol: 'v1', maxSamplesPerRequest: 5000, concurrency: 2, timeoutMs: 30_000 });
  const flusher = new Flusher({
    sink: client,
    publisher: { publish: () => Promise.reject(new Error('owners publish nothing')) },
    checkpoints,
    consumer: { commit: async () => undefined } as unknown as RelayConsumer,
    partitions: () => partitions,
    logger,
    sendTimeoutMs: 60_000,
    sendMetadata: false,
  });
  const rounds: Round[] = [];
  let sentBefore = 0;
  const session = HEAP_PROFILE ? new Session() : undefined;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    if (session && r === WARMUP) {
      session.connect();
      // Garbage included: what the flush allocates, not only what outlives it.
      await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    }
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(process.memoryUsage.rss()), 20);
    const profiler = new GCProfiler();
    profiler.start();
    const usedBefore = process.memoryUsage().heapUsed;
    const oldBefore = oldGeneration();
    const cpu = process.cpuUsage();
    collectOld = 0;
    if (MOVED) for (const p of partitions) p.nextOffset = p.nextOffset! + 1n;
    const result = await flusher.flush();
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const used = process.cpuUsage(cpu);
    const usedAfter = process.memoryUsage().heapUsed;
    const oldAfter = oldGeneration();
    const gc = gcFigures(profiler.stop(), usedBefore, usedAfter, oldBefore, oldAfter);
    clearInterval(sampler);
    if (result.status !== 'success' || result.samplesSent !== SERIES) throw new Error(`flush ${r}: ${result.status}, ${result.samplesSent} samples sent`);
    const { samples } = await sink.stats();
    if (samples - sentBefore !== SERIES) throw new Error(`flush ${r}: the receiver counted ${samples - sentBefore} samples, expected ${SERIES}`);
    sentBefore = samples;
    if (r < WARMUP) continue;
    rounds.push({
      cpuMs: (used.user + used.system) / 1000,
      wallMs: result.durationMs,
      ...gc,
      collectOld,
      rssMean: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length),
      rssPeak: Math.max(...rss),
    });
    log(`flush ${r - WARMUP + 1}/${ROUNDS}: ${((used.user + used.system) / 1000).toFixed(0)} ms CPU, ${mb(gc.allocated)} MB allocated, ${mb(gc.promoted)} MB promoted, ${mb(gc.direct)} MB old directly, ${mb(gc.oldGarbage)} MB old garbage freed`);
  }
  if (session) {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: HeapNode };
    writeFileSync(HEAP_PROFILE!, JSON.stringify(profile));
    const byFunction = new Map<string, number>();
    const walk = (n: HeapNode) => {
      const self = n.selfSize;
      const where = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
      if (self > 0) byFunction.set(where, (byFunction.get(where) ?? 0) + self);
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 15);
    for (const [where, bytes] of top) log(`${mb(bytes / ROUNDS)} MB per flush  ${where}`);
  }
  const { requests } = await sink.stats();
  sink.child.kill();
  const meanRss = rounds.reduce((a, r) => a + r.rssMean, 0) / rounds.length;
  const peakRss = Math.max(...rounds.map((r) => r.rssPeak));
  const pick = (f: (r: Round) => number) => `${median(rounds.map(f)).toFixed(0)} (${Math.min(...rounds.map(f)).toFixed(0)}–${Math.max(...rounds.map(f)).toFixed(0)})`;
  const pickMb = (f: (r: Round) => number) => `${mb(median(rounds.map(f)))} (${mb(Math.min(...rounds.map(f)))}–${mb(Math.max(...rounds.map(f)))})`;
  const lines = [
    `Flush path of ${SERIES} owned series in ${PARTITIONS} owner partitions, ${ROUNDS} flushes after ${WARMUP} (checkpoint ${CHECKPOINT ? 'encoded' : 'off'}${MOVED ? ', every owner moved each flush' : ''}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}:`,
    '',
    '| per steady flush | median (min–max) |',
    '| --- | ---: |',
    `| CPU, ms (flush + ${PAUSE_MS} ms pause) | ${pick((r) => r.cpuMs)} |`,
    `| flush duration (wall), ms | ${pick((r) => r.wallMs)} |`,
    `| allocated, MB | ${pickMb((r) => r.allocated)} |`,
    `| promoted to the old generation by scavenges, MB | ${pickMb((r) => r.promoted)} |`,
    `| allocated in the old generation directly (pretenured, large objects), MB | ${pickMb((r) => r.direct)} |`,
    `| old-generation growth during the owners' collect() (in the two rows above), MB | ${pickMb((r) => r.collectOld)} |`,
    `| old-generation garbage freed by full GCs, MB (mean) | ${mb(rounds.reduce((a, r) => a + r.oldGarbage, 0) / rounds.length)} |`,
    `| GCs (full GCs: ${rounds.reduce((a, r) => a + r.fullGcs, 0)} in ${ROUNDS} flushes) | ${pick((r) => r.gcs)} |`,
    `| RSS per series, mean / peak over the flushes | ${(meanRss / SERIES).toFixed(0)} B / ${(peakRss / SERIES).toFixed(0)} B |`,
    `| requests per flush | ${(requests / (WARMUP + ROUNDS)).toFixed(1)} |`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  await client.close();
}

if (process.argv.includes('--receiver')) receiver();
else await main();
