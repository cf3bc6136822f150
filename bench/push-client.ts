// Push-client benchmark: RemoteWriteClient vs npm prometheus-remote-write's pushTimeseries, same receiver, same run;
// then the async mode's peak RSS with a full queue. Run: node --conditions=@prom-relay/source --import tsx bench/push-client.ts
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RemoteWriteClient } from '@prom-relay/push-client';
import type { WriteResult, WriteSeries } from '@prom-relay/push-client';

const require = createRequire(import.meta.url);
const peer = require('prometheus-remote-write') as {
  pushTimeseries(series: unknown[], options: Record<string, unknown>): Promise<{ status: number; errorMessage?: string }>;
};
const peerVersion = (require('prometheus-remote-write/package.json') as { version: string }).version;

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 1_000_000);
// Two shapes: a relay flush (one sample per series) and a backfill-like batch (many samples per series).
const SHAPES = (process.env['BENCH_SHAPES'] ?? '1,100').split(',').map(Number);
let SAMPLES_PER_SERIES = 1;
const PER_REQUEST = 2000;
const CONCURRENCY = 4;
const WRITE_CHUNK = 50_000; // series per write() call
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// The receiver, in its own process so it does not take this process's core: reads every body, answers 204 (or 503 on /fail).
const RECEIVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => { res.writeHead(req.url === '/fail' ? 503 : 204); res.end(); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startReceiver(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const methods = ['GET', 'POST', 'PUT'];
/** Series i of the workload: 6 labels with __name__, SAMPLES_PER_SERIES samples 15 s apart. */
function makeSeries(i: number, t0: number): WriteSeries & { labels: Record<string, string>; samples: { value: number; timestamp: number }[] } {
  const samples = [];
  for (let k = 0; k < SAMPLES_PER_SERIES; k++) samples.push({ value: i + k, timestamp: t0 + k * 15_000 });
  return {
    labels: {
      __name__: 'http_requests_total',
      instance: `host-${i % 50}.example.com:9100`,
      job: 'api-server',
      method: methods[i % 3]!,
      path: `/api/v1/items/${i}`,
      status: String(200 + (i % 5)),
    },
    samples,
  };
}

const WRITE_CHUNK_SAMPLES = 100_000; // samples per write() call

async function runOurs(url: string, data: WriteSeries[]): Promise<number> {
  const client = new RemoteWriteClient({ url, concurrency: CONCURRENCY, maxSamplesPerRequest: PER_REQUEST });
  const chunk = Math.max(1, WRITE_CHUNK_SAMPLES / SAMPLES_PER_SERIES);
  const started = performance.now();
  let sent = 0;
  const check = (result: WriteResult): void => {
    if (result.status !== 'success') throw new Error(`write failed: ${result.status}`);
    sent += result.counts.samplesSent;
  };
  // Two write() calls in flight: the next call's series are prepared while the shards still send the last ones.
  const pending: Array<Promise<WriteResult>> = [];
  for (let i = 0; i < data.length; i += chunk) {
    pending.push(client.write(data.slice(i, i + chunk)));
    if (pending.length >= 2) check(await pending.shift()!);
  }
  for (const p of pending) check(await p);
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  if (sent !== data.length * SAMPLES_PER_SERIES) throw new Error(`sent ${sent} of ${data.length * SAMPLES_PER_SERIES}`);
  return seconds;
}

async function runPeer(url: string, data: WriteSeries[]): Promise<number> {
  const perRequest = Math.max(1, PER_REQUEST / SAMPLES_PER_SERIES);
  let next = 0;
  const started = performance.now();
  // Same request size and the same number of requests in flight as ours.
  const worker = async (): Promise<void> => {
    while (next < data.length) {
      const batch = data.slice(next, next + perRequest);
      next += perRequest;
      const r = await peer.pushTimeseries(batch, { url, fetch: globalThis.fetch, timeout: 30_000 });
      if (r.status !== 204) throw new Error(`peer push answered ${r.status} ${r.errorMessage ?? ''}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
}

/** Child mode: fill the async queue against a receiver that answers 503, report RSS. */
async function rssChild(url: string, limit: number, offered: number): Promise<void> {
  SAMPLES_PER_SERIES = 5;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const client = new RemoteWriteClient({
    url: `${url}/fail`,
    concurrency: CONCURRENCY,
    retry: { minBackoffMs: 50, maxBackoffMs: 200 },
    queue: { maxSamples: limit, dropPolicy: 'drop-oldest' },
  });
  const t0 = Date.now();
  let enqueueMs = 0;
  for (let i = 0; i < offered / SAMPLES_PER_SERIES; i++) {
    const started = performance.now();
    client.enqueue(makeSeries(i, t0));
    enqueueMs += performance.now() - started;
    if (i % 20_000 === 0) {
      // Collect first, so the figure is what the queue holds, not garbage the generator left behind.
      gc?.();
      peak = Math.max(peak, process.memoryUsage().rss);
      await new Promise((r) => setImmediate(r));
    }
  }
  gc?.();
  peak = Math.max(peak, process.memoryUsage().rss);
  const stats = client.stats();
  await client.close(10);
  process.stdout.write(
    JSON.stringify({ baseline, peak, queued: stats.samplesQueued, dropped: stats.samplesQueueDropped, enqueueUsPerSeries: (enqueueMs * 1000) / (offered / SAMPLES_PER_SERIES) }) + '\n',
  );
}

async function measureRss(url: string, limit: number, offered: number): Promise<{ baseline: number; peak: number; queued: number; dropped: number; enqueueUsPerSeries: number }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', self, 'rss-child', url, String(limit), String(offered)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out.trim()) as never;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  try {
    const rows: string[] = [];
    for (const shape of SHAPES) {
      SAMPLES_PER_SERIES = shape;
      const t0 = Date.now() - 3_600_000;
      const data = Array.from({ length: SAMPLES / shape }, (_, i) => makeSeries(i, t0));
      log(`push-client bench: ${SAMPLES} samples in ${data.length} series × ${shape} to ${receiver.url}`);
      // Warm-up of both paths (JIT, sockets) on a slice, not measured.
      await runOurs(receiver.url, data.slice(0, Math.max(1, 20_000 / shape)));
      await runPeer(receiver.url, data.slice(0, Math.max(1, 20_000 / shape)));
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let run = 0; run < 3; run++) {
        theirs.push(await runPeer(receiver.url, data));
        ours.push(await runOurs(receiver.url, data));
        log(`  run ${run}: peer ${theirs.at(-1)!.toFixed(2)} s, ours ${ours.at(-1)!.toFixed(2)} s`);
      }
      const oursRate = SAMPLES / median(ours);
      const peerRate = SAMPLES / median(theirs);
      const shapeText = `${fmt(data.length)} series × ${shape}`;
      rows.push(`| ${shapeText} | @prom-relay/push-client RemoteWriteClient | ${median(ours).toFixed(2)} | ${fmt(oursRate)} | ${(oursRate / peerRate).toFixed(1)}× |`);
      rows.push(`| ${shapeText} | prometheus-remote-write ${peerVersion} pushTimeseries | ${median(theirs).toFixed(2)} | ${fmt(peerRate)} | 1.0× |`);
    }

    // Same limit with 4× more offered must not grow memory; a 10× limit does.
    const rssCases: Array<[number, number]> = [
      [100_000, 1_000_000],
      [100_000, 4_000_000],
      [1_000_000, 4_000_000],
    ];
    const rssRows: string[] = [];
    for (const [limit, offered] of rssCases) {
      const m = await measureRss(receiver.url, limit, offered);
      log(`  rss limit ${limit} offered ${offered}: ${JSON.stringify(m)}`);
      rssRows.push(
        `| ${fmt(limit)} | ${fmt(offered)} | ${fmt(m.queued)} | ${fmt(m.dropped)} | ${mib(m.baseline)} | ${mib(m.peak)} | ${mib(m.peak - m.baseline)} | ${m.enqueueUsPerSeries.toFixed(2)} |`,
      );
    }

    console.log(`## Push client: Remote Write throughput and async queue memory

Workload: ${fmt(SAMPLES)} samples per shape, series of 6 labels (with \`__name__\`), sent as RW 1.0 to a local
receiver in a child process that reads each body and answers 204; ${PER_REQUEST} samples per request and
${CONCURRENCY} requests in flight for both clients. \`RemoteWriteClient.write()\` (validation, label sorting,
sharding by series hash, encode, snappy; ${fmt(WRITE_CHUNK_SAMPLES)} samples per call, two calls in flight) against npm
\`prometheus-remote-write\` ${peerVersion} \`pushTimeseries\` (Node's fetch). Median of 3 interleaved runs.
Shapes: one sample per series (what a relay flush sends) and 100 samples per series (a backfill).

| shape | client | seconds | samples/s | vs peer |
| --- | --- | ---: | ---: | ---: |
${rows.join('\n')}

Async mode with a full queue: samples (series × 5 samples) offered with \`enqueue()\` (drop-oldest) while
the receiver answers 503, so nothing drains. RSS of a fresh process before and at its peak, measured after
a GC every 20,000 series (live memory, not the generator's garbage).

| queue limit (samples) | offered | queued at end | dropped | RSS before (MiB) | peak RSS (MiB) | growth (MiB) | enqueue µs/series |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rssRows.join('\n')}`);
  } finally {
    receiver.child.kill();
  }
}

if (process.argv[2] === 'rss-child') {
  await rssChild(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
