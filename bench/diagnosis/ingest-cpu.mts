// Decode + apply CPU per sample of bench/relay-core.ts's ingest workload (its "short-lived" and "steady" producers:
// text bodies of 45 counters and 5 histograms as prom-client writes them, job and instance in the headers), for
// comparing working trees (e.g. a worktree at an older commit and this one), each run in a fresh process: five runs of
// each workload into a fresh aggregate, CPU time (process.cpuUsage), the medians. The section's own rows are
// wall-clock rates, best of 3, and move with the machine's load; interleave trees here to compare CPU.
// Run: for r in 1 2 3; do for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source \
//        --import tsx bench/diagnosis/ingest-cpu.mts "$t"; done; done
const root = process.argv[2]!;
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
console.log(root.split('/').pop(), 'ns/sample short', med(res.short!), 'steady', med(res.steady!));
