// Why two relays on a 2-core machine cost more CPU than one (issue 14 goal 3): the relay's hot path (decode +
// aggregate) in one process pinned to one CPU, timed in CPU-seconds per pass over the same backlog while the other CPU
// is idle, kept busy by an ALU loop (no memory traffic), by a loop over 64 MiB (memory traffic), or by a twin of this
// process doing the other half of the work (what a second relay is). No Kafka, no flush: only the machine changes between
// conditions. CPU-seconds are the measured process's own (process.cpuUsage), so time it waits for its CPU is not counted.
// Run: node --conditions=@prom-relay/source --import tsx bench/diagnosis/relay-contention.ts   (prints a markdown table)
// Two more conditions put the other process on the measured process's CPU: time-sliced with it (the scheduler's
// slices of a few ms), each comes back to caches the other filled.
// Options: BENCH_CONTENTION_ROUNDS (6: every condition once per round, the order rotating), BENCH_PRODUCERS (2000),
// BENCH_PUSHES (30), BENCH_CPUS (0,1: the measured process on the first, the other load on the second).
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PartitionAggregate } from '../../apps/relay/src/aggregate/index.js';
import type { AggregateOptions } from '../../apps/relay/src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../apps/relay/src/decode/index.js';
import { fmt, median, textWorkload } from '../lib/text-workload.js';

const log = (msg: string) => process.stderr.write(`[relay-contention] ${msg}\n`);
const ROUNDS = Number(process.env.BENCH_CONTENTION_ROUNDS ?? 6);
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 2000);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 30);
const [CPU_A, CPU_B] = (process.env.BENCH_CPUS ?? '0,1').split(',');
const WARMUP_PUSHES = 3;
const OPTIONS: AggregateOptions = {
  rules: [],
  seriesTtlMs: 3_600_000,
  producerTtlMs: 3_600_000,
  limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 },
};

/**
 * The share of the scale-out backlog of `parts` of its 4 partitions (a partition: the messages of a quarter of the
 * producers), as records in the order they were produced.
 */
function records(parts: number): KafkaRecord[] {
  const { messages } = textWorkload(PRODUCERS, PUSHES);
  const partitionOf = (i: number) => Math.floor((i % PRODUCERS) / (PRODUCERS / 4));
  return messages
    .map((m, i) => ({ m, partition: partitionOf(i) }))
    .filter(({ partition }) => partition < parts)
    .map(({ m, partition }, i) => ({
      topic: 'bench',
      partition,
      offset: String(i),
      key: m.key as Buffer,
      value: m.value as Buffer,
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(String(v))])),
    }));
}

/** The worker: on every line of stdin (`pass` or `loop`), one pass (CPU-s on stdout) or passes until stdin closes. */
function worker(parts: number): void {
  const recs = records(parts);
  const warm = (PRODUCERS / 4) * parts * WARMUP_PUSHES;
  const pass = (): number => {
    // Fresh aggregates, one per partition as in the relay: the warm-up pushes (every producer and series created)
    // uncounted, then the rest timed.
    const aggs = Array.from({ length: parts }, () => new PartitionAggregate(OPTIONS));
    let now = Date.now();
    for (let i = 0; i < warm; i++) aggs[recs[i]!.partition]!.apply(decodeRecord(recs[i]!, {}), now++);
    const c0 = process.cpuUsage();
    for (let i = warm; i < recs.length; i++) aggs[recs[i]!.partition]!.apply(decodeRecord(recs[i]!, {}), now++);
    const c = process.cpuUsage(c0);
    if (aggs.some((a) => a.seriesCount === 0)) throw new Error('nothing aggregated: the records did not decode');
    return (c.user + c.system) / 1e6;
  };
  for (let i = 0; i < 2; i++) pass(); // compile the hot paths to their optimised tier
  let looping = false;
  process.stdout.write('ready\n');
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    for (const cmd of chunk.split('\n').filter(Boolean)) {
      if (cmd === 'pass') process.stdout.write(`${pass()}\n`);
      else if (cmd === 'loop' && !looping) {
        looping = true;
        const again = () => (pass(), setImmediate(again));
        again();
      }
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

interface Proc {
  child: ChildProcess;
  next(): Promise<string>;
}

function start(cpu: string, args: string[]): Proc {
  const child = spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  return { child, next: () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r))) };
}

const self = fileURLToPath(import.meta.url);
const nodeArgs = ['--conditions=@prom-relay/source', '--import', 'tsx', self];
const BURNERS: Record<string, string> = {
  spin: 'let x = 0; for (;;) x = (x + 1) | 0;',
  mem: 'const a = new Float64Array(8 << 20); let s = 0; for (;;) for (let i = 0; i < a.length; i += 8) { s += a[i]; a[i] = s; }',
};
/** what the measured process holds (partitions of 4) and what runs on the other CPU */
const CONDITIONS = {
  'one relay: 4 partitions, the other CPU idle': { parts: 4, other: 'idle' },
  'one relay, the other CPU spinning (ALU loop)': { parts: 4, other: 'spin' },
  'one relay, the other CPU looping over 64 MiB': { parts: 4, other: 'mem' },
  'half the partitions, the other CPU idle': { parts: 2, other: 'idle' },
  'two relays: 2 partitions, a twin with the other 2 on the other CPU': { parts: 2, other: 'twin' },
  'two relays on one CPU: 2 partitions, the twin time-sliced with it on its CPU': { parts: 2, other: 'twin-same' },
  'one relay sharing its CPU with a loop over 64 MiB': { parts: 4, other: 'mem-same' },
} as const;
type Condition = keyof typeof CONDITIONS;
const NAMES = Object.keys(CONDITIONS) as Condition[];

async function main(): Promise<void> {
  if (process.argv[2] === '--worker') return worker(Number(process.argv[3]));
  // One measured process per size, both on the first CPU (the one not measured waits on its stdin).
  const measured = new Map<number, Proc>();
  for (const parts of [4, 2]) {
    const p = start(CPU_A!, [...nodeArgs, '--worker', String(parts)]);
    if ((await p.next()) !== 'ready') throw new Error('worker failed');
    measured.set(parts, p);
  }
  const results = new Map<Condition, number[]>(NAMES.map((c) => [c, []]));
  const loads: number[] = [loadavg()[0]!];
  for (let round = 0; round < ROUNDS; round++) {
    const rotated = [...NAMES.slice(round % NAMES.length), ...NAMES.slice(0, round % NAMES.length)];
    for (const name of round % 2 === 0 ? rotated : rotated.reverse()) {
      const { parts, other: kind } = CONDITIONS[name];
      let other: Proc | undefined;
      if (kind === 'spin' || kind === 'mem') other = start(CPU_B!, ['-e', BURNERS[kind]!]);
      if (kind === 'mem-same') other = start(CPU_A!, ['-e', BURNERS.mem!]);
      if (kind === 'twin' || kind === 'twin-same') {
        other = start(kind === 'twin' ? CPU_B! : CPU_A!, [...nodeArgs, '--worker', String(4 - parts)]);
        await other.next();
        other.child.stdin!.write('loop\n');
      }
      await new Promise((r) => setTimeout(r, 300));
      const p = measured.get(parts)!;
      p.child.stdin!.write('pass\n');
      // CPU-s per million samples
      const cpu = Number(await p.next()) / (((PRODUCERS / 4) * parts * (PUSHES - WARMUP_PUSHES) * 100) / 1e6);
      results.get(name)!.push(cpu);
      if (other) {
        other.child.kill('SIGKILL');
        await new Promise((r) => other!.child.once('exit', r));
      }
      log(`#${round + 1} ${name}: ${cpu.toFixed(3)} CPU-s per 1M samples, load ${loadavg()[0]!.toFixed(1)}`);
    }
    loads.push(loadavg()[0]!);
  }
  for (const p of measured.values()) p.child.stdin!.end();
  const base = median(results.get(NAMES[0]!)!);
  const out = [
    `| the measured process (CPU ${CPU_A}) and the other CPU (${CPU_B}) | CPU-s per 1M samples, median (every round) | samples per CPU-s | vs the first row |`,
    '| --- | ---: | ---: | ---: |',
    ...NAMES.map((c) => {
      const xs = results.get(c)!;
      return `| ${c} | ${median(xs).toFixed(3)} (${xs.map((x) => x.toFixed(3)).join(', ')}) | ${fmt(1e6 / median(xs))} | ${(median(xs) / base).toFixed(2)}× |`;
    }),
    '',
    `Load average (1 min) through the rounds: ${loads.map((l) => l.toFixed(1)).join(', ')}.`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
