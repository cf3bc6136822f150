// Decode + apply CPU of a job run every 5 minutes (issue 14 goal 4: a producer's counter baselines in a window of
// arrays, input-numbers.ts): 100k series, 1,000 producers of 100 series per run, each run new producers of the same
// series, 12 runs 5 minutes apart with a collect after each (as a relay flushes); CPU time (process.cpuUsage) of
// decodeRecord + apply and of apply alone per run, medians of runs 3-12. Compares working trees, each in a fresh process.
// Run: for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source --import tsx \
//        bench/diagnosis/cron-runs-cpu.mts "$t"; done
const root = process.argv[2]!;
const { PartitionAggregate } = await import(`${root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${root}/apps/relay/src/decode/index.ts`);
const agg = new PartitionAggregate({ rules: [], seriesTtlMs: 300_000, counterTtlMs: 26 * 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let now = Date.now(); const times: number[] = []; const applies: number[] = [];
for (let r = 0; r < 12; r++) {
  const recs = [];
  for (let b = 0; b < 1000; b++) {
    const lines = ['# TYPE bytes_processed_total counter'];
    for (let s = 0; s < 100; s++) lines.push(`bytes_processed_total{shard="shard-${b}",partition_key="key-${s}",status="ok"} ${b + s + 1}`);
    recs.push({ topic: 't', partition: 0, offset: String(r * 1e6 + b), key: null, value: Buffer.from(lines.join('\n')),
      headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': `job-${b % 50}`, 'prom-relay-producer': `run-${r}-${b}`, 'prom-relay-grouping': `instance=pod-${r}-${b}` } });
  }
  const t0 = cpu();
  const batches = recs.map((x) => decodeRecord(x, {}));
  const t1 = cpu();
  for (const bt of batches) agg.apply(bt, now);
  const t2 = cpu();
  times.push(t2 - t0); applies.push(t2 - t1);
  now += 300_000; agg.collect(now - 1);
}
const med = (xs: number[]) => xs.slice(2).sort((a, b) => a - b)[(xs.length - 2) >> 1]!;
console.log(JSON.stringify({ root, decodeApplyMs: med(times), applyMs: med(applies), series: agg.seriesCount }));
