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
const OPTIONS = { rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } };
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
function body(round: number, seed: number): string {
  const lines = ['# HELP rows_written_total Rows written.', '# TYPE rows_written_total counter'];
  for (let t = 0; t < 45; t++) lines.push(`rows_written_total{table="table_${t}",status="ok"} ${(round + 1) * (t + seed)}`);
  lines.push('# HELP request_duration_seconds Request duration.', '# TYPE request_duration_seconds histogram');
  for (let op = 0; op < 5; op++) {
    let cumulative = 0;
    for (const le of BUCKETS.slice(0, 9)) { cumulative += round + op; lines.push(`request_duration_seconds_bucket{le="${le}",operation="op_${op}"} ${cumulative}`); }
    lines.push(`request_duration_seconds_bucket{le="+Inf",operation="op_${op}"} ${cumulative}`);
    lines.push(`request_duration_seconds_sum{operation="op_${op}"} ${cumulative * 0.3}`);
  }
  return lines.join('\n') + '\n';
}
function records(producers: number, messages: number) {
  const out: any[] = [];
  for (let m = 0; m < messages; m++) for (let p = 0; p < producers; p++) out.push({ topic: 'prom-relay.metrics', partition: 0, offset: String(out.length), key: null, value: Buffer.from(body(m, p)),
    headers: { 'content-type': Buffer.from('text/plain; version=0.0.4; charset=utf-8'), 'prom-relay-job': Buffer.from(`export-job-${p % 10}`), 'prom-relay-producer': Buffer.from(`3f1c9a52-7d4e-4c1b-9a8e-${String(p).padStart(12, '0')}`), 'prom-relay-grouping': Buffer.from(`instance=worker-${p}.batch.svc`), 'prom-relay-seq': Buffer.from(String(m)) } });
  return out;
}
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
