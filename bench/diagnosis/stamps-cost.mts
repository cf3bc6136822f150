// The cost of the aggregate's newest-sample check (`isNewestSample`, partition-aggregate.ts): per producer scope a
// `Map<InputSeries, number>` (`ProducerScope.stamps`) of the newest sample time applied per input series, read and
// written once per point that carries a timestamp (Remote Write). Workload: Remote Write pushes as the ingest makes
// them (groupMessage: one message and one producer per job + instance, snappy protobuf, decoded by decodeRecord):
// STAMPS_TARGETS targets (100) of STAMPS_SERIES series each (1,000: 8 counter families, 2 gauge families), 10 jobs,
// a scrape every 15 s (values and timestamps increase each round). STAMPS_LAYOUT=shared (default): every target of a
// job writes the same series (node-exporter-like; `instance` is a producer label, so the targets share input series);
// `distinct`: each target its own series (a `pod` label), so every point has its own input and output series.
//  (1) CPU: two aggregates in one process fed the same pushes, one with the points' timestamps and one with
//      `timestamp: undefined` (the stamps path not taken; the same object shapes), push by push, the order alternating;
//      a full GC before each round; process.cpuUsage (user + system) of PartitionAggregate.apply alone (decoding is
//      outside; its own CPU per point is printed beside), ns per point, medians of STAMPS_ROUNDS (20) rounds after 3
//      to warm up, and the medians of the per-round ratios and differences.
//  (2) Heap: a fresh child process per variant (`ts` / `nots`), the order alternating, STAMPS_HEAP_RUNS (3) each:
//      heapUsed + arrayBuffers (typed arrays' backing stores live outside the V8 heap) after two full GCs, after 3
//      rounds of pushes (a collect after each) minus before the first, per Remote Write series; the child also counts
//      the stamps entries.
//      Then the same with each target's first push untyped (no metadata: a Remote Write 1.0 sender before its
//      metadata request), whose input series are retired (retype.ts) when the typed pushes come.
//  (3) What the value's representation costs: a Map of 100,000 object keys to absolute ms times (~1.8e12: not a
//      small integer, so a boxed HeapNumber per entry, a new one per set) vs to the same times relative to an epoch
//      (small integers); heap per entry (fresh children) and CPU per get + set (in process, interleaved).
// Run: node --conditions=@prom-relay/source --import tsx bench/diagnosis/stamps-cost.mts
//   STAMPS_TREE=<commit>: the aggregate of that commit (a worktree beside the repository, bench/lib/baseline.ts)
//   instead of the working tree, which other work may change during a run; STAMPS_ROOT=<folder>: the aggregate of a
//   checkout in that folder (e.g. an unpacked `git archive` with a change to try; its node_modules linked to the
//   repository's).
// Figures at 1671b1e (2026-12-02, 2 cores shared, load 5-28): apply with / without timestamps 1.08-1.20 (shared),
// 1.05-1.07 (distinct); +45-48 B heap per series (shared and distinct); first push untyped: +160 B (shared), +806 B
// (distinct) per series, kept while the producer pushes (stamps of retired inputs hold them and their outputs).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { baselineCheckout, currentCheckout } from '../lib/baseline.js';

setFlagsFromString('--expose-gc');
const gc = (globalThis.gc ?? runInNewContext('gc')) as () => void;
const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '../..');
const CHECKOUT = process.env.STAMPS_ROOT ? { root: resolve(process.env.STAMPS_ROOT), label: resolve(process.env.STAMPS_ROOT) } : process.env.STAMPS_TREE ? baselineCheckout(REPO, process.env.STAMPS_TREE) : currentCheckout(REPO);
const TARGETS = Number(process.env.STAMPS_TARGETS ?? 100);
const PER_TARGET = Number(process.env.STAMPS_SERIES ?? 1000);
const ROUNDS = Number(process.env.STAMPS_ROUNDS ?? 20);
const HEAP_RUNS = Number(process.env.STAMPS_HEAP_RUNS ?? 3);
const LAYOUT = process.env.STAMPS_LAYOUT === 'distinct' ? 'distinct' : 'shared';
const WARM = 3;
const JOBS = 10;
const FAMILIES = 10;
const GAUGE_FAMILIES = 2;

const { PartitionAggregate } = await import(`${CHECKOUT.root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${CHECKOUT.root}/apps/relay/src/decode/index.ts`);
const { groupMessage } = await import(`${CHECKOUT.root}/apps/relay/src/ingest/remote-write.ts`);

type Labels = Record<string, string>;
interface Point { timestamp?: number }
interface Batch { points: Point[] }
interface Aggregate { apply(b: Batch, nowMs: number): { accepted: number; duplicates: number }; collect(nowMs: number): unknown[]; seriesCount: number }

const newAggregate = (): Aggregate =>
  new PartitionAggregate({ rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxSeriesPerJob: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const familyName = (f: number) => (f < FAMILIES - GAUGE_FAMILIES ? `node_stat_${f}_total` : `node_level_${f}`);
const METADATA = Array.from({ length: FAMILIES }, (_, f) => ({ type: f < FAMILIES - GAUGE_FAMILIES ? 'counter' : 'gauge', metricFamilyName: familyName(f), help: 'x' }));

/** The label sets of one target's series (built once, before any heap is measured). */
function targetSeries(t: number): Labels[] {
  const job = `node-${t % JOBS}`;
  const instance = `host-${t}.example.net:9100`;
  return Array.from({ length: PER_TARGET }, (_, s) => {
    const labels: Labels = { __name__: familyName(s % FAMILIES), device: `dev${Math.floor(s / FAMILIES) % 10}`, mode: `m${Math.floor(s / (FAMILIES * 10))}`, instance, job };
    if (LAYOUT === 'distinct') labels['pod'] = `pod-${t}`;
    return labels;
  });
}

/** Round `r`'s push of target `t`, as a Kafka record the Remote Write ingest would produce. */
function record(t: number, series: Labels[], r: number, t0: number, metadata = METADATA) {
  const timestamp = t0 + r * 15_000 + t;
  const timeseries = series.map((labels, s) => ({ labels, samples: [{ value: s % FAMILIES < FAMILIES - GAUGE_FAMILIES ? (r + 1) * (s + 1) : (r * 7 + s) % 100, timestamp }] }));
  const m = groupMessage({ job: labels0(series).job, grouping: { instance: labels0(series).instance } }, timeseries, metadata, { producerLabels: ['instance'], version: 1 });
  return { topic: 'prom-relay.metrics', partition: 0, offset: String(r * TARGETS + t), key: null, value: m.value, headers: m.headers };
}
const labels0 = (series: Labels[]) => series[0]!;

function decodeRound(all: Labels[][], r: number, t0: number, withTs: boolean): Batch[] {
  return all.map((series, t) => {
    const b = decodeRecord(record(t, series, r, t0)) as Batch;
    if (!withTs) for (const p of b.points) p.timestamp = undefined;
    return b;
  });
}

function applyAll(agg: Aggregate, batches: Batch[], nowMs: number): void {
  for (const b of batches) {
    const res = agg.apply(b, nowMs);
    if (res.accepted !== b.points.length) throw new Error(`applied ${res.accepted} of ${b.points.length} (duplicates ${res.duplicates})`);
  }
}

function cpuPart(all: Labels[][]): void {
  const t0 = Date.now();
  const aggs = { ts: newAggregate(), nots: newAggregate() };
  const ns: Record<'ts' | 'nots', number[]> = { ts: [], nots: [] };
  const ratios: number[] = [];
  const decodeNs: number[] = [];
  const points = TARGETS * PER_TARGET;
  for (let r = 0; r < WARM + ROUNDS; r++) {
    const d0 = cpuMs();
    const batches = { ts: decodeRound(all, r, t0, true), nots: decodeRound(all, r, t0, false) };
    decodeNs.push(((cpuMs() - d0) * 1e6) / (2 * points));
    const took = { ts: 0, nots: 0 };
    gc();
    // Push by push, the order alternating: both variants see the same machine noise within milliseconds.
    for (let t = 0; t < TARGETS; t++) {
      for (const v of (r + t) % 2 === 0 ? (['ts', 'nots'] as const) : (['nots', 'ts'] as const)) {
        const c0 = cpuMs();
        applyAll(aggs[v], [batches[v][t]!], t0 + r * 15_000);
        took[v] += cpuMs() - c0;
      }
    }
    if (r < WARM) continue;
    ns.ts.push((took.ts * 1e6) / points);
    ns.nots.push((took.nots * 1e6) / points);
    ratios.push(took.ts / took.nots);
  }
  const f = (xs: number[]) => `${median(xs).toFixed(0)} ns/point (rounds: ${xs.map((x) => x.toFixed(0)).join(' ')})`;
  const extra = median(ns.ts.map((x, i) => x - ns.nots[i]!));
  console.log(`(1) CPU of apply, ${points.toLocaleString('en-US')} points a round, ${aggs.ts.seriesCount.toLocaleString('en-US')} output series; load ${load()}`);
  console.log(`    with timestamps:    ${f(ns.ts)}`);
  console.log(`    without timestamps: ${f(ns.nots)}`);
  console.log(`    with / without, median of per-round ratios: ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`    with - without, median of per-round differences: ${extra.toFixed(0)} ns/point; decodeRecord beside it: ${median(decodeNs.slice(WARM)).toFixed(0)} ns/point`);
}

/** Child: heap per series of the aggregate after 3 rounds, with or without timestamps. */
function heapChild(variant: string): void {
  const all = Array.from({ length: TARGETS }, (_, t) => targetSeries(t));
  const t0 = Date.now();
  const agg = newAggregate();
  gc();
  gc();
  const m0 = process.memoryUsage();
  for (let r = 0; r < 3; r++) {
    for (let t = 0; t < TARGETS; t++) {
      // `untyped`: the first round without metadata (a Remote Write 1.0 sender before its metadata request).
      const b = decodeRecord(record(t, all[t]!, r, t0, r === 0 && variant.endsWith('-untyped') ? [] : METADATA)) as Batch;
      if (variant.startsWith('nots')) for (const p of b.points) p.timestamp = undefined;
      applyAll(agg, [b], t0 + r * 15_000);
    }
    agg.collect(t0 + r * 15_000 + 10_000); // the flush between scrapes
  }
  gc();
  gc();
  const m1 = process.memoryUsage();
  // Internal tables read for the count only (a diagnosis): producers -> scopes -> stamps.
  let stamps = 0;
  const store = (agg as unknown as { store: { producers: Map<string, { scopes: Map<string, { stamps: Map<unknown, number> | null }> }>; scopes: Map<string, { size: number }> } }).store;
  for (const p of store.producers.values()) for (const s of p.scopes.values()) stamps += s.stamps?.size ?? 0;
  let inputs = 0;
  for (const s of store.scopes.values()) inputs += s.size;
  const n = TARGETS * PER_TARGET;
  const offHeap = (m1.arrayBuffers - m0.arrayBuffers) / n;
  process.stdout.write(JSON.stringify({ perSeries: (m1.heapUsed - m0.heapUsed) / n + offHeap, offHeap, stamps, inputs, outputs: agg.seriesCount, all: all.length }));
}

const MAP_N = 100_000;
/** Child: heap per entry of a Map of object keys to absolute (`abs`) or epoch-relative (`rel`) ms times. */
function mapChild(variant: string): void {
  const keys = Array.from({ length: MAP_N }, (_, i) => ({ i }));
  const base = variant === 'abs' ? Date.now() : 0;
  gc();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const m = new Map<object, number>();
  for (let i = 0; i < MAP_N; i++) m.set(keys[i]!, base + 1000 + i);
  gc();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  process.stdout.write(JSON.stringify({ perEntry: (h1 - h0) / MAP_N, size: m.size, keys: keys.length }));
}

/** CPU per get + set of such maps, the two interleaved. */
function mapCpu(): string {
  const keys = Array.from({ length: MAP_N }, (_, i) => ({ i }));
  const maps = { abs: new Map<object, number>(), rel: new Map<object, number>() };
  const bases = { abs: Date.now(), rel: 0 };
  const out: Record<'abs' | 'rel', number[]> = { abs: [], rel: [] };
  for (let r = 0; r < WARM + ROUNDS; r++) {
    for (const v of r % 2 === 0 ? (['abs', 'rel'] as const) : (['rel', 'abs'] as const)) {
      const m = maps[v];
      const at = bases[v] + r * 15_000;
      gc();
      const c0 = cpuMs();
      for (let i = 0; i < MAP_N; i++) {
        const last = m.get(keys[i]!);
        if (last === undefined || at >= last) m.set(keys[i]!, at + (i & 1023));
      }
      if (r >= WARM) out[v].push(((cpuMs() - c0) * 1e6) / MAP_N);
    }
  }
  return `CPU per get + set: absolute ${median(out.abs).toFixed(1)} ns, relative ${median(out.rel).toFixed(1)} ns`;
}

function child(args: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', SELF, ...args], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

const [mode, variant] = process.argv.slice(2);
if (mode === 'heap') heapChild(variant!);
else if (mode === 'map') mapChild(variant!);
else {
  console.log(`stamps-cost: aggregate of ${CHECKOUT.label}; ${TARGETS} targets x ${PER_TARGET} series (${LAYOUT}), ${JOBS} jobs; node ${process.version}; load ${load()}`);
  cpuPart(Array.from({ length: TARGETS }, (_, t) => targetSeries(t)));
  const heap: Record<string, number[]> = { ts: [], nots: [] };
  const offHeap: Record<string, number[]> = { ts: [], nots: [] };
  let stamps = 0;
  for (let k = 0; k < HEAP_RUNS; k++) {
    for (const v of k % 2 === 0 ? ['ts', 'nots'] : ['nots', 'ts']) {
      const res = child(['heap', v]);
      heap[v]!.push(res['perSeries']!);
      offHeap[v]!.push(res['offHeap']!);
      if (v === 'ts') stamps = res['stamps']!;
    }
  }
  const b = (xs: number[]) => `${median(xs).toFixed(1)} B (${xs.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(`(2) heap (V8 heap used + array buffers) per Remote Write series after 3 rounds (fresh child each); load ${load()}`);
  console.log(`    with timestamps:    ${b(heap.ts!)}, array buffers ${median(offHeap.ts!).toFixed(1)} B of it; ${stamps.toLocaleString('en-US')} stamps entries`);
  console.log(`    without timestamps: ${b(heap.nots!)}, array buffers ${median(offHeap.nots!).toFixed(1)} B of it`);
  console.log(`    difference: ${(median(heap.ts!) - median(heap.nots!)).toFixed(1)} B per series`);
  // The first push of each target untyped (no metadata yet): its input series are retired when the typed ones come.
  const retyped: Record<string, number[]> = { 'ts-untyped': [], 'nots-untyped': [] };
  let retypedStamps = 0;
  let retypedInputs = 0;
  for (let k = 0; k < HEAP_RUNS; k++) {
    for (const v of k % 2 === 0 ? ['ts-untyped', 'nots-untyped'] : ['nots-untyped', 'ts-untyped']) {
      const res = child(['heap', v]);
      retyped[v]!.push(res['perSeries']!);
      if (v === 'ts-untyped') [retypedStamps, retypedInputs] = [res['stamps']!, res['inputs']!];
    }
  }
  console.log(`    first round untyped (no metadata), then typed: with timestamps ${b(retyped['ts-untyped']!)}; ${retypedStamps.toLocaleString('en-US')} stamps entries for ${retypedInputs.toLocaleString('en-US')} input series`);
  console.log(`                                                   without timestamps ${b(retyped['nots-untyped']!)}`);
  const maps: Record<string, number[]> = { abs: [], rel: [] };
  for (let k = 0; k < HEAP_RUNS; k++) for (const v of k % 2 === 0 ? ['abs', 'rel'] : ['rel', 'abs']) maps[v]!.push(child(['map', v])['perEntry']!);
  console.log(`(3) Map<object, number> of ${MAP_N.toLocaleString('en-US')}: heap per entry, absolute ms ${b(maps.abs!)}, relative ms ${b(maps.rel!)}; ${mapCpu()}; load ${load()}`);
}
