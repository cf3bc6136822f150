// Decode + apply CPU of pushes whose points miss their positions of the scope's last push (each producer of a job
// writes its own series: the scope's last push came from another producer), the path where every point is found by
// its identity hash. Compares working trees (e.g. a worktree at an older commit and this one), each run in a fresh
// process: 1,000 producers x 100 series (bench/relay-core.ts's workload), then 12 rounds of every producer pushing
// again; CPU time (process.cpuUsage) of decodeRecord + apply and of apply alone, medians of rounds 3-12.
// Run: for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source --import tsx \
//        bench/diagnosis/apply-misses.mts "$t"; done
// APPLY_HITS=1: a job per producer instead, so each push meets its points at their positions of the scope's last push
// (the positional path: one key comparison a point, no hashing).
const hits = process.env.APPLY_HITS === '1';
const root = process.argv[2]!;
const { PartitionAggregate } = await import(`${root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${root}/apps/relay/src/decode/index.ts`);
const N = 1000;
const rec = (i: number, round: number) => ({ topic: 't', partition: 0, offset: String(i), key: null,
  value: Buffer.from(['# TYPE bytes_processed_total counter', ...Array.from({ length: 100 }, (_, s) => `bytes_processed_total{shard="shard-${i}",partition_key="key-${s}",status="ok"} ${i + s + round}`)].join('\n')),
  headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': hits ? `ingest-job-${i}` : `ingest-job-${i % 50}`, 'prom-relay-producer': `producer-${i}`, 'prom-relay-grouping': `instance=worker-${i}.batch.svc` } });
const agg = new PartitionAggregate({ rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let i = 0; i < N; i++) agg.apply(decodeRecord(rec(i, 0)), Date.now());
const rounds: number[] = [];
const applyOnly: number[] = [];
for (let r = 1; r <= 12; r++) {
  const recs = Array.from({ length: N }, (_, i) => rec(i, r));
  const t0 = cpu();
  const batches = recs.map((x) => decodeRecord(x));
  const t1 = cpu();
  for (const b of batches) agg.apply(b, Date.now());
  const t2 = cpu();
  rounds.push(t2 - t0); applyOnly.push(t2 - t1);
}
const med = (xs: number[]) => xs.slice(2).sort((a, b) => a - b)[(xs.length - 2) >> 1]!;
console.log(JSON.stringify({ root, hits, decodeApplyMs: med(rounds), applyMs: med(applyOnly), series: agg.seriesCount }));
