// Decode + apply CPU per sample of bench/relay-core.ts's ingest workload (its "short-lived" and "steady" producers:
// text bodies of 45 counters and 5 histograms as prom-client writes them, job and instance in the headers), for
// comparing working trees (e.g. a worktree at an older commit and this one), each run in a fresh process: five runs of
// each workload into a fresh aggregate, CPU time (process.cpuUsage), the medians. The section's own rows are
// wall-clock rates, best of 3, and move with the machine's load; interleave trees here to compare CPU.
// Run: for r in 1 2 3; do for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source \
//        --import tsx bench/diagnosis/ingest-cpu.mts "$t"; done; done
const root = process.argv[2]!;
// BENCH_RELAY_HEAP=1: under the aggregating relay's heap policy (heap/small-heap.ts), as `prom-relay run` sets it,
// its semi-space cap BENCH_SEMI_SPACE_MIB (default: the relay's; 0: V8's own growth). GCs counted either way.
if (process.env.BENCH_RELAY_HEAP === '1') {
  const heap = await import(`${root}/apps/relay/src/heap/small-heap.ts`);
  const semi = process.env.BENCH_SEMI_SPACE_MIB;
  heap.keepAggregatorHeapSmall(heap.AGGREGATOR_HEAP_GROWING_PERCENT, semi === undefined ? heap.AGGREGATOR_SEMI_SPACE_MIB : Number(semi));
}
const { PerformanceObserver } = await import('node:perf_hooks');
const gcs = { all: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs.all++;
    if ((e as { detail?: { kind?: number } }).detail?.kind === 4) gcs.major++;
  }
}).observe({ entryTypes: ['gc'] });
const { PartitionAggregate } = await import(`${root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${root}/apps/relay/src/decode/index.ts`);
const { records } = await import('../lib/core-workload.ts');
const OPTIONS = { rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } };
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const res: Record<string, number[]> = { short: [], steady: [] };
for (let r = 0; r < 5; r++) for (const [name, recs] of [['short', records(2000, 3)], ['steady', records(100, 60)]] as const) {
  const agg = new PartitionAggregate(OPTIONS);
  const t0 = cpu(); let now = Date.now();
  for (const rec of recs) agg.apply(decodeRecord(rec, {}), now++);
  res[name]!.push((cpu() - t0) * 1e6 / (recs.length * 100));
}
const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[2]!.toFixed(0);
await new Promise((resolve) => setTimeout(resolve, 200)); // the gc entries are delivered asynchronously
console.log(root.split('/').pop(), 'ns/sample short', med(res.short!), 'steady', med(res.steady!), 'GCs', gcs.all, 'major', gcs.major);
