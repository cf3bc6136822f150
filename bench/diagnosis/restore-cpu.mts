// CPU of restoring an aggregate from its checkpoint state (JSON.parse + PartitionAggregate.fromState, what a relay
// does on taking a partition over), for comparing working trees (e.g. a worktree at an older commit and this one):
// 100k counter series of bench/relay-core.ts's memory workload (1,000 producers x 100 series, 50 jobs), the state
// written by the tree's own `toState`; five restores, CPU time (process.cpuUsage), the median.
// Run: for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source --import tsx \
//        bench/diagnosis/restore-cpu.mts "$t"; done
const root = process.argv[2]!;
const { PartitionAggregate } = await import(`${root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${root}/apps/relay/src/decode/index.ts`);
const { seriesPush } = await import('../lib/core-workload.ts');
const OPTIONS = { rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } };
const agg = new PartitionAggregate(OPTIONS);
for (let i = 0; i < 1000; i++) agg.apply(decodeRecord(seriesPush(i, i)), Date.now());
const json = JSON.stringify(agg.toState());
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const ms: number[] = [];
for (let r = 0; r < 5; r++) { const t0 = cpu(); const st = JSON.parse(json); const a = PartitionAggregate.fromState(st, OPTIONS); ms.push(cpu() - t0); if (a.seriesCount !== 100000) throw new Error('count'); }
console.log(root.split('/').pop(), 'parse+fromState ms (median of 5)', ms.sort((a, b) => a - b)[2]!.toFixed(0), 'json MB', (json.length / 1e6).toFixed(1));
