// The CPU of what a flush does with 100k fed output series, beside the apply: a source partition's publish (collect of
// the fed series + their partials encoded: key built, JSON, gzip), an owner applying those partials and collecting
// (in the process that holds the source: labels shared, as pipeline.ts wires it), and the owner's checkpoint (toState,
// JSON, gzip level 1). What keeping no key string per series costs (issue 14 goal 4; ff02aa1 and after). Compares
// working trees (a worktree at an older commit and this one), each run in a fresh process: bench/relay-core.ts's
// workload (1,000 producers × 100 counter series), then ROUNDS rounds of every producer pushing again, each followed
// by the publish, the owner's apply and collect, and its checkpoint; CPU time (process.cpuUsage), medians of the
// rounds after the first. The checkpoint's JSON and gzip sizes come out too.
// Run: for t in /path/to/older-worktree "$PWD"; do node --conditions=@prom-relay/source --import tsx --expose-gc \
//        bench/diagnosis/flush-side-cpu.mts "$t"; done      (FLUSH_SIDE_ROUNDS, default 8)
import { gzipSync } from 'node:zlib';

const root = process.argv[2]!;
const { PartitionAggregate } = await import(`${root}/apps/relay/src/aggregate/index.ts`);
const { decodeRecord } = await import(`${root}/apps/relay/src/decode/index.ts`);
const { toPartial, encodePartials, decodePartials, SeriesCombiner } = await import(`${root}/apps/relay/src/repartition/index.ts`);
const N = 1000;
const ROUNDS = Number(process.env.FLUSH_SIDE_ROUNDS ?? 8);
const rec = (i: number, round: number) => ({ topic: 't', partition: 0, offset: String(i + round * N), key: null,
  value: Buffer.from(['# TYPE bytes_processed_total counter', ...Array.from({ length: 100 }, (_, s) => `bytes_processed_total{shard="shard-${i}",partition_key="key-${s}",status="ok"} ${i + s + round}`)].join('\n')),
  headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': `ingest-job-${i % 50}`, 'prom-relay-producer': `producer-${i}`, 'prom-relay-grouping': `instance=worker-${i}.batch.svc` } });
const agg = new PartitionAggregate({ rules: [], seriesTtlMs: 3_600_000, producerTtlMs: 3_600_000, limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 } });
const owner = new SeriesCombiner({ ttlMs: 3_600_000, shared: (id: string) => agg.outputSeries(id) });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let now = Date.now();
for (let i = 0; i < N; i++) agg.apply(decodeRecord(rec(i, 0)), now);
const publish: number[] = [];
const apply: number[] = [];
const collect: number[] = [];
const checkpoint: number[] = [];
let jsonBytes = 0;
let gzipBytes = 0;
for (let r = 1; r <= ROUNDS; r++) {
  now += 10_000;
  for (let i = 0; i < N; i++) agg.apply(decodeRecord(rec(i, r)), now);
  let t = cpu();
  const samples = agg.collect(now, { onlyFed: true });
  const messages: Buffer[] = [];
  for (let i = 0; i < samples.length; i += 5000) messages.push(await encodePartials({ source: 'metrics/0', offset: r, series: samples.slice(i, i + 5000).map((x: { key: string }) => toPartial(x as never, x.key)) }));
  publish.push(cpu() - t);
  if (samples.length !== N * 100) throw new Error(`published ${samples.length}`);
  const batches = messages.map((m) => decodePartials(m));
  t = cpu();
  for (const b of batches) owner.apply(b, now);
  apply.push(cpu() - t);
  t = cpu();
  const out = owner.collect(now);
  collect.push(cpu() - t);
  if (out.length !== N * 100) throw new Error(`owner wrote ${out.length}`);
  t = cpu();
  const json = JSON.stringify(owner.toState());
  const gz = gzipSync(json, { level: 1 });
  checkpoint.push(cpu() - t);
  jsonBytes = json.length;
  gzipBytes = gz.length;
}
const med = (xs: number[]) => xs.slice(1).sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
const ms = (x: number) => Math.round(x * 10) / 10;
console.log(JSON.stringify({ root, publishMs: ms(med(publish)), ownerApplyMs: ms(med(apply)), ownerCollectMs: ms(med(collect)), ownerCheckpointMs: ms(med(checkpoint)), checkpointJsonMB: ms(jsonBytes / 1e5) / 10, checkpointGzipMB: Math.round(gzipBytes / 1e4) / 100 }));
