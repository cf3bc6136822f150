// Codec benchmark: Remote Write 1.0 / 2.0 encode+compress and decompress+decode against npm prometheus-remote-write, and native
// histograms against protobufjs reflection (bench/lib/codec-histograms.ts).
// Run: node --conditions=@prom-relay/source --import tsx bench/codec.ts   (one markdown section on stdout, progress on stderr)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import {
  compress,
  decodeWriteRequest,
  decodeWriteRequestSnappy,
  decodeWriteRequestV2Snappy,
  decompress,
  encodeWriteRequest,
  encodeWriteRequestSnappy,
  encodeWriteRequestV2,
  encodeWriteRequestV2Snappy,
} from '@prom-relay/codec';
import type { WriteRequest } from '@prom-relay/codec';
import { HIST_SERIES, histogramOps } from './lib/codec-histograms.js';

const require = createRequire(import.meta.url);
const peer = require('prometheus-remote-write') as {
  serialize(payload: unknown): Promise<Uint8Array>;
  deserialize(buffer: Uint8Array): Promise<unknown>;
};
const peerVersion = (require('prometheus-remote-write/package.json') as { version: string }).version;

const SERIES = 2000;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 20);
/** Distinct requests for the "unseen label values" rows, cycled: far more label pairs than the codec caches hold. */
const COLD_REQUESTS = 16;
const COLD_BATCH = 4;

const methods = ['GET', 'POST', 'PUT'];
/** The workload: one WriteRequest, 2,000 series, 6 labels each (with __name__), 1 sample each. */
function makeRequest(variant: number): WriteRequest {
  return {
    timeseries: Array.from({ length: SERIES }, (_, i) => ({
      labels: {
        __name__: 'http_requests_total',
        instance: `host-${i % 50}.v${variant}.example.com:9100`,
        job: 'api-server',
        method: methods[i % 3]!,
        path: `/api/v${variant}/items/${i}`,
        status: String(200 + (i % 5)),
      },
      samples: [{ value: i * 1.5, timestamp: 1_700_000_000_000 + i }],
    })),
  };
}
/** The peer's native input: labels as {name, value} arrays, built outside the timed loop. */
function peerPayload(req: WriteRequest): unknown {
  return {
    timeseries: req.timeseries.map((t) => ({
      labels: Object.entries(t.labels).map(([name, value]) => ({ name, value })),
      samples: t.samples.map((s) => ({ value: s.value, timestamp: s.timestamp })),
    })),
  };
}

const request = makeRequest(0);
const peerRequest = peerPayload(request);
const cold = Array.from({ length: COLD_REQUESTS }, (_, i) => makeRequest(i + 1));
const coldPeer = cold.map(peerPayload);
const coldBodies = cold.map((r) => compress(encodeWriteRequest(r)));

// protobufjs reflection over proto/: the alternative the hand-written codec was measured against.
const protoDir = fileURLToPath(new URL('../proto/', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_o, target) => path.resolve(protoDir, target);
root.loadSync(['remote.proto']);
const Reflected = root.lookupType('prometheus.WriteRequest');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

type Op = (i: number) => unknown;
interface Case {
  name: string;
  op: Op;
  batch: number;
  times: number[];
}
const cases: Case[] = [];
const coldCases: Case[] = [];
function add(name: string, op: Op, batch = BATCH): Case {
  const c: Case = { name, op, batch, times: [] };
  (batch === BATCH ? cases : coldCases).push(c);
  return c;
}

const ours1 = encodeWriteRequest(request);
const ours1Body = compress(ours1);
const ours2Body = encodeWriteRequestV2Snappy(request);
const peerRaw = await peer.serialize(peerRequest);
const peerBody = snappyjs.compress(peerRaw);
// Same content everywhere before anything is timed.
const same = JSON.stringify(decodeWriteRequest(snappyjs.uncompress(peerBody)));
if (same !== JSON.stringify(decodeWriteRequestSnappy(ours1Body)) || same !== JSON.stringify(decodeWriteRequestV2Snappy(ours2Body))) {
  throw new Error('the bodies under test do not decode to the same request');
}
if (Buffer.compare(Buffer.from(encodeWriteRequestSnappy(request)), Buffer.from(ours1Body)) !== 0) {
  throw new Error('encodeWriteRequestSnappy differs from compress(encodeWriteRequest)');
}

// The peer's serialize and deserialize are async; awaiting them is part of its API and costs microseconds.
let pending: Promise<unknown> = Promise.resolve();
const encPeer = add('peer serialize + snappyjs.compress', () => (pending = peer.serialize(peerRequest).then((b) => snappyjs.compress(b))));
const encReflect = add('protobufjs reflection + snappyjs', () => snappyjs.compress(Reflected.encode(peerRequest as object).finish()));
const encTwoStep = add('ours compress(encodeWriteRequest)', () => compress(encodeWriteRequest(request)));
const encOurs = add('ours encodeWriteRequestSnappy', () => encodeWriteRequestSnappy(request));
const encOurs2 = add('ours encodeWriteRequestV2Snappy', () => encodeWriteRequestV2Snappy(request));
const encPeerCold = add('peer, unseen labels', (i) => (pending = peer.serialize(coldPeer[i % COLD_REQUESTS]).then((b) => snappyjs.compress(b))), COLD_BATCH);
const encOursCold = add('ours, unseen labels', (i) => encodeWriteRequestSnappy(cold[i % COLD_REQUESTS]!), COLD_BATCH);
const decPeer = add('peer snappyjs.uncompress + deserialize', () => (pending = peer.deserialize(snappyjs.uncompress(peerBody))));
const decReflect = add('protobufjs reflection + snappyjs', () => Reflected.decode(snappyjs.uncompress(peerBody)));
const decTwoStep = add('ours decodeWriteRequest(decompress)', () => decodeWriteRequest(decompress(ours1Body)));
const decOurs = add('ours decodeWriteRequestSnappy', () => decodeWriteRequestSnappy(ours1Body));
const decOurs2 = add('ours decodeWriteRequestV2Snappy', () => decodeWriteRequestV2Snappy(ours2Body));
const decPeerCold = add('peer, unseen labels', (i) => (pending = peer.deserialize(snappyjs.uncompress(coldBodies[i % COLD_REQUESTS]!))), COLD_BATCH);
const decOursCold = add('ours, unseen labels', (i) => decodeWriteRequestSnappy(coldBodies[i % COLD_REQUESTS]!), COLD_BATCH);

// Native histograms: protobufjs reflection is the peer (prometheus-remote-write has no histograms) and the oracle.
const hist = histogramOps();
const histCases: Case[] = [];
function addHist(name: string, op: () => unknown): Case {
  const c: Case = { name, op, batch: BATCH, times: [] };
  histCases.push(c);
  return c;
}
const hEncReflect1 = addHist('histograms: protobufjs RW 1.0 encode', hist.encReflect1);
const hEncOurs1 = addHist('histograms: ours RW 1.0 encode', hist.encOurs1);
const hEncReflect2 = addHist('histograms: protobufjs RW 2.0 encode', hist.encReflect2);
const hEncOurs2 = addHist('histograms: ours RW 2.0 encode', hist.encOurs2);
const hDecReflect1 = addHist('histograms: protobufjs RW 1.0 decode', hist.decReflect1);
const hDecOurs1 = addHist('histograms: ours RW 1.0 decode', hist.decOurs1);
const hDecReflect2 = addHist('histograms: protobufjs RW 2.0 decode', hist.decReflect2);
const hDecOurs2 = addHist('histograms: ours RW 2.0 decode', hist.decOurs2);

/** CPU time (user + system) of this process in ms: the machine is shared, so wall time would measure the neighbours. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

// Runs are interleaved (every case once per round) so load changes hit every implementation alike. The
// "never seen" cases run in rounds of their own, after the others, so they do not empty the others' caches.
let coldIndex = 0;
for (const group of [cases, coldCases, histCases]) {
  for (let round = -1; round < RUNS; round++) {
    for (const c of group) {
      // No forced gc() between cases: a collected, shrunken heap makes the next case pay for regrowing it
      // (measured: 2-3x slower for every implementation); steady state is what a service sees.
      const started = process.cpuUsage();
      for (let k = 0; k < c.batch; k++) {
        c.op(group === coldCases ? coldIndex++ : k);
        await pending;
      }
      const ms = cpuMs(started) / c.batch;
      if (round >= 0) c.times.push(ms);
    }
    log(`${group === cases ? 'round' : group === coldCases ? 'cold round' : 'histogram round'} ${round + 1}/${RUNS} done`);
  }
}

function median(c: Case): number {
  const sorted = [...c.times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
for (const c of [...cases, ...coldCases, ...histCases]) log(`${c.name}: median ${median(c).toFixed(3)} ms (${c.times.map((t) => t.toFixed(2)).join(' ')})`);

const fmtMs = (c: Case) => median(c).toFixed(2);
const rate = (c: Case) => Math.round(SERIES / (median(c) / 1000)).toLocaleString('en-US');
const vs = (peerCase: Case, c: Case, bold = false) => {
  const r = `${(median(peerCase) / median(c)).toFixed(1)}×`;
  return bold ? `**${r}**` : r;
};
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const peerName = `prometheus-remote-write ${peerVersion}`;

const rows = [
  ['RW 1.0 encode + compress', `${peerName}: \`serialize\` + snappyjs \`compress\``, fmtMs(encPeer), rate(encPeer), '1.0×', `${kib(peerRaw.length)} → ${kib(peerBody.length)}`],
  ['', 'protobufjs reflection over proto/ + snappyjs', fmtMs(encReflect), rate(encReflect), vs(encPeer, encReflect), ''],
  ['', '@prom-relay/codec: `compress(encodeWriteRequest(req))`', fmtMs(encTwoStep), rate(encTwoStep), vs(encPeer, encTwoStep), `${kib(ours1.length)} → ${kib(ours1Body.length)}`],
  ['', '**@prom-relay/codec: `encodeWriteRequestSnappy(req)`** (same bytes)', fmtMs(encOurs), rate(encOurs), vs(encPeer, encOurs, true), `${kib(ours1.length)} → ${kib(ours1Body.length)}`],
  ['', `${peerName}, label values never seen before`, fmtMs(encPeerCold), rate(encPeerCold), '1.0×', ''],
  ['', '@prom-relay/codec `encodeWriteRequestSnappy`, label values never seen before', fmtMs(encOursCold), rate(encOursCold), vs(encPeerCold, encOursCold), ''],
  ['RW 2.0 encode + compress', '**@prom-relay/codec: `encodeWriteRequestV2Snappy(req)`**', fmtMs(encOurs2), rate(encOurs2), vs(encPeer, encOurs2, true), `→ ${kib(ours2Body.length)}`],
  ['RW 1.0 decompress + decode', `${peerName}: snappyjs \`uncompress\` + \`deserialize\``, fmtMs(decPeer), rate(decPeer), '1.0×', ''],
  ['', 'protobufjs reflection over proto/ + snappyjs', fmtMs(decReflect), rate(decReflect), vs(decPeer, decReflect), ''],
  ['', '@prom-relay/codec: `decodeWriteRequest(decompress(body))`', fmtMs(decTwoStep), rate(decTwoStep), vs(decPeer, decTwoStep), ''],
  ['', '**@prom-relay/codec: `decodeWriteRequestSnappy(body)`**', fmtMs(decOurs), rate(decOurs), vs(decPeer, decOurs, true), ''],
  ['', `${peerName}, label values never seen before`, fmtMs(decPeerCold), rate(decPeerCold), '1.0×', ''],
  ['', '@prom-relay/codec `decodeWriteRequestSnappy`, label values never seen before', fmtMs(decOursCold), rate(decOursCold), vs(decPeerCold, decOursCold), ''],
  ['RW 2.0 decompress + decode', '**@prom-relay/codec: `decodeWriteRequestV2Snappy(body)`**', fmtMs(decOurs2), rate(decOurs2), vs(decPeer, decOurs2, true), ''],
];

const histRate = (c: Case) => Math.round(HIST_SERIES / (median(c) / 1000)).toLocaleString('en-US');
const histBuckets = hist.request.timeseries.reduce((n, t) => n + t.histograms![0]!.positiveSpans.reduce((m, s) => m + s.length, 0), 0);
const histFloats = hist.request.timeseries.filter((t) => t.histograms![0]!.isFloat).length;
const hb = hist.bytes;
const histRow = (op: string, name: string, c: Case, peerCase: Case, bytes: string, bold = false) =>
  [op, bold ? `**${name}**` : name, fmtMs(c), histRate(c), c === peerCase ? '1.0×' : vs(peerCase, c, bold), bytes];
const histRows = [
  histRow('RW 1.0 encode + compress', 'protobufjs reflection over proto/ + snappyjs', hEncReflect1, hEncReflect1, `${kib(hb.reflect1Raw)} → ${kib(hb.reflect1)}`),
  histRow('', '@prom-relay/codec: `encodeWriteRequestSnappy(req)`', hEncOurs1, hEncReflect1, `${kib(hb.ours1Raw)} → ${kib(hb.ours1)}`, true),
  histRow('RW 2.0 encode + compress', 'protobufjs reflection over proto/ + snappyjs (symbols table built beforehand)', hEncReflect2, hEncReflect2, `${kib(hb.reflect2Raw)} → ${kib(hb.reflect2)}`),
  histRow('', '@prom-relay/codec: `encodeWriteRequestV2Snappy(req)`', hEncOurs2, hEncReflect2, `${kib(hb.ours2Raw)} → ${kib(hb.ours2)}`, true),
  histRow('RW 1.0 decompress + decode', 'protobufjs reflection over proto/ + snappyjs', hDecReflect1, hDecReflect1, ''),
  histRow('', '@prom-relay/codec: `decodeWriteRequestSnappy(body)`', hDecOurs1, hDecReflect1, '', true),
  histRow('RW 2.0 decompress + decode', 'protobufjs reflection over proto/ + snappyjs', hDecReflect2, hDecReflect2, ''),
  histRow('', '@prom-relay/codec: `decodeWriteRequestV2Snappy(body)`', hDecOurs2, hDecReflect2, '', true),
];

// Bytes by label shape: RW 2.0's symbols table pays off when values repeat within a request.
function sizedRequest(labelsOf: (i: number) => Record<string, string>): WriteRequest {
  return { timeseries: Array.from({ length: SERIES }, (_, i) => ({ labels: labelsOf(i), samples: [{ value: i * 1.5, timestamp: 1_700_000_000_000 + i }] })) };
}
const sizeCases: Array<[string, WriteRequest]> = [
  ['the workload above (every `path` distinct)', request],
  ['the same, `path` from 100 values', sizedRequest((i) => ({ ...request.timeseries[i]!.labels, path: `/api/v0/items/${i % 100}` }))],
  [
    'Kubernetes-like: 10 labels, values repeated',
    sizedRequest((i) => ({
      __name__: `container_metric_${i % 20}`,
      container: `c-${i % 7}`,
      endpoint: 'https-metrics',
      image: `registry.example.com/team/service-${i % 7}:v1.2.${i % 3}`,
      instance: `10.0.${i % 13}.${i % 29}:10250`,
      job: 'kubelet',
      namespace: `ns-${i % 5}`,
      node: `node-${i % 13}.cluster.local`,
      pod: `service-${i % 7}-${(i % 40).toString(36)}x7f9`,
      service: 'kubelet',
    })),
  ],
];
const sizeRows = sizeCases.map(([name, req]) => {
  const raw1 = encodeWriteRequest(req);
  const raw2 = encodeWriteRequestV2(req);
  return `| ${name} | ${kib(raw1.length)} → ${kib(compress(raw1).length)} | ${kib(raw2.length)} → ${kib(compress(raw2).length)} |`;
});

const out = [
  '## Codec: Remote Write encode and decode',
  '',
  `Workload: one WriteRequest of ${SERIES.toLocaleString('en-US')} series × 6 labels (incl. \`__name__\`) × 1 sample, the same content for every ` +
    "implementation (the peer gets its native `{name, value}` label arrays, built outside the timed loop). Figures are CPU milliseconds " +
    `(user + system, \`process.cpuUsage\`) per request, the median of ${RUNS} interleaved rounds of ${BATCH} requests after a warm-up round, ` +
    'so that other processes on the shared machine do not count; samples/s = 2,000 / that time. "vs peer" is the peer\'s time over ours, measured in the same run. ' +
    'The codec caches encoded and decoded label pairs across calls (bounded), which is what a relay flushing the same series every interval sees; ' +
    'the "never seen before" rows cycle through 16 requests whose label values differ (192,000 label pairs, more than the caches keep), in rounds of ' +
    `${COLD_BATCH}.`,
  '',
  '| operation | implementation | CPU ms / request | samples / s | vs peer | bytes (raw → snappy) |',
  '| --- | --- | ---: | ---: | ---: | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  `Bytes of one request of ${SERIES.toLocaleString('en-US')} series × 1 sample by label shape (raw → snappy):`,
  '',
  '| labels | RW 1.0 | RW 2.0 |',
  '| --- | ---: | ---: |',
  ...sizeRows,
  '',
  '### Native histograms',
  '',
  `Workload: one WriteRequest of ${HIST_SERIES.toLocaleString('en-US')} series × 6 labels × 1 native histogram sample, schema 3 ` +
    `(the Go client's \`NativeHistogramBucketFactor: 1.1\`), zero threshold 2^-128, 3 positive spans, ${Math.min(...hist.request.timeseries.map((t) => t.histograms![0]!.positiveSpans.reduce((m, s) => m + s.length, 0)))} ` +
    `to ${Math.max(...hist.request.timeseries.map((t) => t.histograms![0]!.positiveSpans.reduce((m, s) => m + s.length, 0)))} populated buckets ` +
    `(${histBuckets.toLocaleString('en-US')} in all); ${histFloats} of them float histograms (counts), the others integer (deltas); ` +
    'metadata (type histogram, help) in both versions. The peer is protobufjs reflection over proto/ (prometheus-remote-write has no ' +
    'histograms), given its native form (label pairs, RW 2.0 symbols and refs) built outside the timed loop; its decode rows stop at its message objects (int64 fields as \`Long\`, no \`toObject\`). It is also the oracle: ' +
    'before timing, protobufjs decodes our RW 1.0 and 2.0 bytes and we decode its bytes, and all four give back every histogram of the ' +
    'workload exactly (spans, deltas or counts, zero bucket, sum, count, reset hint, timestamp), the labels and the metadata. ' +
    `CPU milliseconds per request, median of ${RUNS} interleaved rounds of ${BATCH}; histogram samples/s = ${HIST_SERIES.toLocaleString('en-US')} / that time.`,
  '',
  '| operation | implementation | CPU ms / request | histogram samples / s | vs protobufjs | bytes (raw → snappy) |',
  '| --- | --- | ---: | ---: | ---: | --- |',
  ...histRows.map((r) => `| ${r.join(' | ')} |`),
  '',
];
process.stdout.write(`${out.join('\n')}\n`);
